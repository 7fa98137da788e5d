package api

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Query and path parameters every surface reads: pure functions of the
// query where they can be, so they are unit tested and fuzzed without a
// server. Each error names the parameter at fault.

// paramError is a rejected query parameter.
type paramError struct {
	Param   string
	Message string
}

func (e *paramError) Error() string { return e.Message }

func badParam(param, format string, args ...any) *paramError {
	return &paramError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// parsePositive reads an optional whole number in [1, max]; def when absent.
func parsePositive(args *fasthttp.Args, name string, def, max int) (int, *paramError) {
	raw := args.Peek(name)
	if len(raw) == 0 {
		return def, nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 1 || n > max {
		return 0, badParam(name, "%s must be a whole number from 1 to %d.", name, max)
	}
	return n, nil
}

// parsePage reads seed 000's page and per_page.
func parsePage(args *fasthttp.Args) (page, perPage int, perr *paramError) {
	if page, perr = parsePositive(args, "page", 1, maxPage); perr != nil {
		return 0, 0, perr
	}
	if perPage, perr = parsePositive(args, "per_page", affiliateDefaultPerPage, affiliateMaxPerPage); perr != nil {
		return 0, 0, perr
	}
	return page, perPage, nil
}

// parseCountry reads an optional ISO 3166-1 alpha-2 code, any case.
func parseCountry(args *fasthttp.Args, name string) (string, *paramError) {
	c := strings.ToUpper(strings.TrimSpace(string(args.Peek(name))))
	if c == "" {
		return "", nil
	}
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return "", badParam(name, "%s must be an ISO 3166-1 alpha-2 country code such as US or DE.", name)
	}
	return c, nil
}

// Limits of the affiliate API's listings (seed 000: per_page max 100,
// default 25). maxPage bounds the offset a request can make the warehouse
// skip.
const (
	affiliateDefaultPerPage = 25
	affiliateMaxPerPage     = 100
	maxPage                 = 100_000
	// maxIDParamLen bounds an offer_id parameter: longer is no ID of ours.
	maxIDParamLen = 255
	// maxPathIDLen bounds an ID taken from a path; longer ones name nothing.
	maxPathIDLen = 128
)

// parseStatsRange reads a stats request's timezone (IANA, default network:
// CLICKRELAY_TIMEZONE), date_from and date_to (inclusive), both required,
// spanning at most maxRange: the affiliate's and the admin's stats share it.
func parseStatsRange(args *fasthttp.Args, maxRange time.Duration, network *time.Location) (from, to time.Time, loc *time.Location, perr *paramError) {
	loc = network
	if tz := string(args.Peek("timezone")); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || len(tz) > 64 || tz == "Local" {
			return from, to, nil, badParam("timezone", "timezone %q is not an IANA time zone name.", tz)
		}
		loc = l
	}
	if from, to, perr = parseDayRange(args, loc, maxRange); perr != nil {
		return from, to, nil, perr
	}
	return from, to, loc, nil
}

// parseDayRange reads date_from and date_to (inclusive), both required, as
// days in loc spanning at most maxRange (0: any): [from, to).
func parseDayRange(args *fasthttp.Args, loc *time.Location, maxRange time.Duration) (from, to time.Time, perr *paramError) {
	from, err := parseDay(string(args.Peek("date_from")), loc)
	if err != nil {
		return from, to, badParam("date_from", "date_from is required, in YYYY-MM-DD format.")
	}
	if to, err = parseDay(string(args.Peek("date_to")), loc); err != nil {
		return from, to, badParam("date_to", "date_to is required, in YYYY-MM-DD format.")
	}
	to = to.AddDate(0, 0, 1) // date_to is inclusive
	if !to.After(from) {
		return from, to, badParam("date_to", "date_to must not be before date_from.")
	}
	if maxRange > 0 && to.Sub(from) > maxRange {
		return from, to, badParam("date_to", "The date range may span at most %d days.", int(maxRange.Hours()/24))
	}
	return from, to, nil
}

// parseGroupBy reads group_by, a comma list of dims' names (named in
// known for the error), each once, in the order given.
func parseGroupBy(args *fasthttp.Args, dims map[string]string, known string) ([]string, *paramError) {
	var groupBy []string
	raw := strings.TrimSpace(string(args.Peek("group_by")))
	if raw == "" {
		return nil, nil
	}
	for _, d := range strings.Split(raw, ",") {
		d = strings.TrimSpace(d)
		if _, ok := dims[d]; !ok {
			return nil, badParam("group_by", "group_by %q is not one of %s.", d, known)
		}
		if !slices.Contains(groupBy, d) {
			groupBy = append(groupBy, d)
		}
	}
	return groupBy, nil
}

func parseDay(s string, loc *time.Location) (time.Time, error) {
	return time.ParseInLocation("2006-01-02", s, loc)
}

// maxStatsRows bounds one stats answer.
const maxStatsRows = 10_000

// queryLimit reads "limit": def when absent, else a whole number in
// [1, maxLimit]. ok is false and the answer sent otherwise.
func queryLimit(ctx *fasthttp.RequestCtx, def, maxLimit int) (int, bool) {
	raw := ctx.QueryArgs().Peek("limit")
	if len(raw) == 0 {
		return def, true
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 1 || n > maxLimit {
		validationError(ctx, fmt.Sprintf("limit must be a whole number from 1 to %d", maxLimit))
		return 0, false
	}
	return n, true
}

// queryMillis reads a Unix-milliseconds parameter; present is false when
// it is absent. ok is false and the answer sent when it is not a number of
// milliseconds between 1970 and 9999.
func queryMillis(ctx *fasthttp.RequestCtx, name string) (t time.Time, present, ok bool) {
	raw := ctx.QueryArgs().Peek(name)
	if len(raw) == 0 {
		return time.Time{}, false, true
	}
	const maxMillis = 253402300799999 // 9999-12-31T23:59:59.999Z
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 0 || n > maxMillis {
		validationError(ctx, name+" must be a Unix timestamp in milliseconds")
		return time.Time{}, false, false
	}
	return time.UnixMilli(n).UTC(), true, true
}

// readTime reads an optional RFC 3339 query parameter into dst.
func readTime(ctx *fasthttp.RequestCtx, fail surfaceFail, name string, dst *time.Time) bool {
	raw := string(ctx.QueryArgs().Peek(name))
	if raw == "" {
		return true
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		fail(ctx, fasthttp.StatusBadRequest, "invalid_"+name, name+" must be an RFC 3339 time such as 2026-11-22T10:00:00Z.")
		return false
	}
	*dst = t.UTC()
	return true
}

// checkRange refuses an empty, inverted or too long range.
func checkRange(ctx *fasthttp.RequestCtx, fail surfaceFail, from, to time.Time) bool {
	switch {
	case !to.After(from):
		fail(ctx, fasthttp.StatusBadRequest, "invalid_range", "to must be after from.")
		return false
	case to.Sub(from) > maxDeliveryRange:
		fail(ctx, fasthttp.StatusBadRequest, "invalid_range",
			fmt.Sprintf("from..to may span at most %d days.", int(maxDeliveryRange.Hours()/24)))
		return false
	}
	return true
}

// maxSearchLen bounds the q parameter of the admin listings.
const maxSearchLen = 200

// search is a listing's q: a case-insensitive substring; empty matches all.
type search string

// searchTerm reads q; ok is false (and the 400 sent) when it is too long.
func searchTerm(ctx *fasthttp.RequestCtx) (search, bool) {
	q := strings.TrimSpace(string(ctx.QueryArgs().Peek("q")))
	if len(q) > maxSearchLen {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_q", fmt.Sprintf("q must be at most %d characters.", maxSearchLen))
		return "", false
	}
	return search(strings.ToLower(q)), true
}

// searched keeps the entries of all that q matches by their fields; all
// of them when q is empty.
func searched[T any](q search, all []T, fields func(T) []string) []T {
	if q == "" {
		return all
	}
	found := []T{}
	for _, e := range all {
		if q.matches(fields(e)...) {
			found = append(found, e)
		}
	}
	return found
}

// matches reports whether any field contains the term, ignoring case.
func (q search) matches(fields ...string) bool {
	if q == "" {
		return true
	}
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), string(q)) {
			return true
		}
	}
	return false
}

func now() time.Time { return time.Now().UTC() }
