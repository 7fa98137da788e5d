package api

import (
	"net/mail"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// POST and PATCH /v2/advertisers: what is an advertiser's own; the rest is
// admin_accounts.go.

func (s *Server) createAdvertiser(ctx *fasthttp.RequestCtx) {
	f, ok := readForm(ctx)
	if !ok {
		return
	}
	name := f.str("name", model.MaxOfferNameLen)
	email := f.str("contact_email", model.MaxShortFieldLen)
	switch {
	case f.failed:
		return
	case name == "":
		f.fail("missing_name", "The name field was not provided.")
		return
	case email != "":
		if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
			f.fail("invalid_contact_email", "contact_email is not a valid e-mail address.")
			return
		}
	}
	adv := &model.Advertiser{Name: name, ContactEmail: email, Status: model.StatusActive, CreatedAt: model.FormatTime(now(), model.APITimeLayout)}
	if !f.conversionIPs(adv) {
		return
	}
	s.createWithKey(ctx, adv, &adv.ID, "adv_", "advertiser")
}

func (s *Server) patchAdvertiser(ctx *fasthttp.RequestCtx, current *model.Advertiser) {
	fields, ok := jsonFields(ctx)
	if !ok {
		return
	}
	s.updateAccount(ctx, current, func(e model.Entity) (model.Entity, error) {
		adv := e.(*model.Advertiser)
		f := &form{ctx: ctx, fields: fields}
		if name := f.str("name", model.MaxOfferNameLen); name != "" {
			adv.Name = name
		}
		if _, present := f.fields["contact_email"]; present {
			adv.ContactEmail = f.str("contact_email", model.MaxShortFieldLen)
			if addr, err := mail.ParseAddress(adv.ContactEmail); adv.ContactEmail != "" && (err != nil || addr.Address != adv.ContactEmail) {
				f.fail("invalid_contact_email", "contact_email is not a valid e-mail address.")
			}
		}
		adv.Status = f.accountStatus(adv.Status)
		f.conversionIPs(adv)
		if f.failed {
			return nil, errAnswered
		}
		return adv, nil
	})
}

// conversionIPs sets adv's conversion allow list when the form names it,
// failing the form on a bad one; it reports whether the form is good.
func (f *form) conversionIPs(adv *model.Advertiser) bool {
	raw, present := f.fields["conversion_ips"]
	if !present || f.failed {
		return !f.failed
	}
	list, ferr := model.ParseConversionIPs(raw)
	if ferr != nil {
		f.fail(ferr.Code, ferr.Message)
		return false
	}
	adv.ConversionIPs = list
	return true
}
