package api

import (
	"net/url"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// The tracking links handed to affiliates and publishers.

// publicBase is the scheme and host of the click path for tracking links:
// CLICKRELAY_PUBLIC_URL, else the host this request reached.
func (s *Server) publicBase(ctx *fasthttp.RequestCtx) string {
	if s.config.PublicURL != "" {
		return s.config.PublicURL
	}
	host := string(ctx.Host())
	if host == "" || !validHost(host) {
		host = ctx.LocalAddr().String()
	}
	return "http://" + host
}

// validHost accepts a host[:port] of letters, digits, '.', '-', ':' and
// brackets (IPv6): a Host header with anything else is not echoed into links.
func validHost(h string) bool {
	if len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// trackingLink is the click path's link attributing traffic on o to aff:
// <base>/click/<offer id>?aff_id=<affiliate id>, then extra's parameters.
func trackingLink(base string, o *model.Offer, aff *model.Affiliate, extra []queryParam) string {
	link := base + "/click/" + url.PathEscape(o.ID) + "?aff_id=" + url.QueryEscape(aff.ID)
	for _, p := range extra {
		if p.value != "" {
			link += "&" + p.name + "=" + url.QueryEscape(p.value)
		}
	}
	return link
}

type queryParam struct{ name, value string }
