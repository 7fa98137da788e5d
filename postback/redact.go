package postback

import (
	"errors"
	"net/url"
)

// Postback URLs carry affiliates' tokens in their query strings (and
// sometimes credentials in userinfo). Only the postback's owner and the
// admin may see them, through the API; logs and error messages get the
// redacted form.

// redactURL keeps the scheme, host and path of raw and hides the rest.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparseable URL)"
	}
	hidden := u.RawQuery != "" || u.User != nil || u.Fragment != ""
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	if hidden {
		return u.String() + "?(redacted)"
	}
	return u.String()
}

// redactError hides the URL a client error quotes (net/http's *url.Error
// prints the whole request URL), keeping what went wrong.
func redactError(err error) error {
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
}
