package api

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// Seed 004: the affiliate postback report and its streaming export.
const (
	pixelsPath       = "reporting/affiliate/pixels"
	pixelsExportPath = "reporting/affiliate/pixels/export"
	maxPixelRows     = 1000
)

// everflowTimezones is Everflow's timezone table (its metadata API,
// GET /v1/meta/timezones): timezone_id 1 to 99 as IANA names, 67 UTC and
// 80 America/New_York among them.
var everflowTimezones = map[int]string{
	1: "Pacific/Kiritimati", 2: "Pacific/Enderbury", 3: "Pacific/Tongatapu", 4: "Pacific/Chatham",
	5: "Pacific/Auckland", 6: "Pacific/Fiji", 7: "Asia/Kamchatka", 8: "Pacific/Norfolk",
	9: "Australia/Lord_Howe", 10: "Pacific/Guadalcanal", 11: "Australia/Adelaide", 12: "Australia/Sydney",
	13: "Australia/Brisbane", 14: "Australia/Darwin", 15: "Asia/Seoul", 16: "Asia/Tokyo",
	17: "Asia/Hong_Kong", 18: "Asia/Kuala_Lumpur", 19: "Asia/Manila", 20: "Asia/Shanghai",
	21: "Asia/Singapore", 22: "Asia/Taipei", 23: "Australia/Perth", 24: "Asia/Bangkok",
	25: "Asia/Ho_Chi_Minh", 26: "Asia/Jakarta", 27: "Asia/Rangoon", 28: "Asia/Dhaka",
	29: "Asia/Kathmandu", 30: "Asia/Colombo", 31: "Asia/Kolkata", 32: "Asia/Karachi",
	33: "Asia/Tashkent", 34: "Asia/Yekaterinburg", 35: "Asia/Kabul", 36: "Asia/Baku",
	37: "Asia/Dubai", 38: "Asia/Tbilisi", 39: "Asia/Yerevan", 40: "Asia/Tehran",
	41: "Africa/Nairobi", 42: "Asia/Baghdad", 43: "Asia/Kuwait", 44: "Asia/Riyadh",
	45: "Europe/Minsk", 46: "Europe/Moscow", 47: "Africa/Cairo", 48: "Asia/Beirut",
	49: "Asia/Jerusalem", 50: "Europe/Athens", 51: "Europe/Bucharest", 52: "Europe/Helsinki",
	53: "Europe/Istanbul", 54: "Africa/Johannesburg", 55: "Europe/Amsterdam", 56: "Europe/Berlin",
	57: "Europe/Brussels", 58: "Europe/Paris", 59: "Europe/Prague", 60: "Europe/Rome",
	61: "Europe/Lisbon", 62: "Africa/Algiers", 63: "Europe/London", 64: "Atlantic/Cape_Verde",
	65: "Africa/Casablanca", 66: "Europe/Dublin", 67: "UTC", 68: "America/Scoresbysund",
	69: "Atlantic/Azores", 70: "Atlantic/South_Georgia", 71: "America/St_Johns", 72: "America/Sao_Paulo",
	73: "America/Argentina/Buenos_Aires", 74: "America/Santiago", 75: "America/Halifax", 76: "America/Puerto_Rico",
	77: "Atlantic/Bermuda", 78: "America/Caracas", 79: "America/Indiana/Indianapolis", 80: "America/New_York",
	81: "America/Bogota", 82: "America/Lima", 83: "America/Panama", 84: "America/Mexico_City",
	85: "America/Chicago", 86: "America/El_Salvador", 87: "America/Denver", 88: "America/Mazatlan",
	89: "America/Phoenix", 90: "America/Los_Angeles", 91: "America/Tijuana", 92: "Pacific/Pitcairn",
	93: "America/Anchorage", 94: "Pacific/Gambier", 95: "America/Adak", 96: "Pacific/Marquesas",
	97: "Pacific/Honolulu", 98: "Pacific/Niue", 99: "Pacific/Pago_Pago",
}

// pixelsRequest is seed 004's request body.
type pixelsRequest struct {
	TimezoneID *int   `json:"timezone_id"`
	Timezone   string `json:"timezone"`
	From       string `json:"from"`
	To         string `json:"to"`
	Query      struct {
		Filters []struct {
			ResourceType  string `json:"resource_type"`
			FilterIDValue any    `json:"filter_id_value"`
		} `json:"filters"`
	} `json:"query"`
	Format string `json:"format"`
}

// reportPixels serves the report, or with export its streaming export.
func (s *Server) reportPixels(ctx *fasthttp.RequestCtx, export bool) {
	q, format, msg := parsePixelsRequest(ctx.PostBody(), export, s.config.Location)
	if msg != "" {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_request", msg)
		return
	}
	if export {
		s.exportPixels(ctx, q, format)
		return
	}
	q.Limit = maxPixelRows
	rctx, cancel := requestContext(ctx)
	defer cancel()
	pixels := make([]map[string]any, 0)
	err := s.deps.Warehouse.PostbackReport(rctx, q, func(r *clickhouse.PostbackRow) error {
		pixels = append(pixels, s.pixel(r))
		return nil
	})
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"pixels": pixels})
}

// parsePixelsRequest reads a seed 004 body; msg explains a refusal. A
// request naming no time zone is in network's (CLICKRELAY_TIMEZONE).
func parsePixelsRequest(body []byte, export bool, network *time.Location) (q clickhouse.PostbackQuery, format, msg string) {
	var req pixelsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return q, "", "The body must be a JSON object with timezone_id, from, to and optional query.filters."
	}
	var loc *time.Location
	switch {
	case req.Timezone != "":
		l, err := time.LoadLocation(req.Timezone)
		if err != nil {
			return q, "", fmt.Sprintf("timezone %q is not an IANA time zone name.", req.Timezone)
		}
		loc = l
	case req.TimezoneID != nil:
		name, ok := everflowTimezones[*req.TimezoneID]
		if !ok {
			return q, "", fmt.Sprintf("Unknown timezone_id %d: Everflow's table goes from 1 to 99 (67 is UTC, 80 America/New_York); or send a timezone name such as \"Europe/Paris\".", *req.TimezoneID)
		}
		loc, _ = time.LoadLocation(name)
	default:
		loc = network
	}
	var ok bool
	if q.From, ok = parseReportTime(req.From, loc, false); !ok {
		return q, "", "from is required, as YYYY-mm-DD or YYYY-mm-DD HH:MM:SS."
	}
	if q.To, ok = parseReportTime(req.To, loc, true); !ok {
		return q, "", "to is required, as YYYY-mm-DD or YYYY-mm-DD HH:MM:SS."
	}
	if !q.To.After(q.From) {
		return q, "", "to must be after from."
	}
	var success, failure bool
	for _, f := range req.Query.Filters {
		value := fmt.Sprint(f.FilterIDValue)
		if n, isNum := f.FilterIDValue.(float64); isNum {
			value = strconv.FormatFloat(n, 'f', -1, 64)
		}
		switch f.ResourceType {
		case "offer":
			q.OfferIDs = append(q.OfferIDs, value)
		case "affiliate":
			q.AffiliateIDs = append(q.AffiliateIDs, value)
		case "delivery_status":
			switch value {
			case "success":
				success = true
			case "failure":
				failure = true
			default:
				return q, "", fmt.Sprintf("delivery_status filter %q is not success or failure.", value)
			}
		default:
			return q, "", fmt.Sprintf("resource_type %q is not offer, affiliate or delivery_status.", f.ResourceType)
		}
	}
	if success != failure { // both, or neither, select every row
		q.Success = &success
	}
	if export {
		format = req.Format
		if format != "csv" && format != "json" {
			return q, "", "format is required for the export: csv or json."
		}
	}
	return q, format, ""
}

// parseReportTime reads "YYYY-mm-DD" or "YYYY-mm-DD HH:MM:SS" in loc. An
// end bound is inclusive: a day runs to its end, a second to its end.
func parseReportTime(s string, loc *time.Location, end bool) (time.Time, bool) {
	if t, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc); err == nil {
		if end {
			t = t.Add(time.Second)
		}
		return t, true
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	return time.Time{}, false
}

// numericID turns "12" or "pb_12" into 12, as seed 004's numeric fields
// want; an ID that is not a number becomes 0.
func numericID(id string) int64 {
	n, _ := strconv.ParseInt(strings.TrimPrefix(id, "pb_"), 10, 64)
	return n
}

// pixel is one row of seed 004's answer.
func (s *Server) pixel(r *clickhouse.PostbackRow) map[string]any {
	pixelStatus := "deleted"
	if pb := s.catalog.Postback(r.PostbackID); pb != nil {
		pixelStatus = pb.Status
	}
	var lastAttempt int64 // the latest retry's time; 0 when the first try was the only one
	if r.Attempts > 1 {
		lastAttempt = r.LastAttempt.Unix()
	}
	offer := map[string]any{"network_offer_id": numericID(r.OfferID), "network_id": 1, "network_advertiser_id": numericID(r.AdvertiserID),
		"network_offer_group_id": 0, "name": "", "offer_status": "deleted", "network_tracking_domain_id": 0, "visibility": "public", "currency_id": "USD"}
	if o := s.catalog.Offer(r.OfferID); o != nil {
		offer["name"], offer["offer_status"], offer["currency_id"] = o.Name, o.Status, o.Currency
	}
	affiliate := map[string]any{"network_affiliate_id": numericID(r.AffiliateID), "network_id": 1, "name": "", "account_status": "deleted", "network_traffic_source_id": 0}
	if a := s.catalog.Affiliate(r.AffiliateID); a != nil {
		affiliate["name"], affiliate["account_status"] = a.Name, a.Status
	}
	return map[string]any{
		"network_id":                      1,
		"network_offer_id":                numericID(r.OfferID),
		"network_offer_payout_revenue_id": 0,
		"affiliate_id":                    numericID(r.AffiliateID),
		"pixel_id":                        numericID(r.PostbackID),
		"conversion_id":                   r.ConversionID,
		"transaction_id":                  r.ClickID,
		"timestamp":                       r.FirstAttempt.Unix(),
		"delivery_method":                 "postback",
		"pixel_level":                     r.Level,
		"pixel_status":                    pixelStatus,
		"pixel_type":                      r.Event,
		"payload":                         r.URL,
		"is_success":                      r.Success,
		"debug_information":               r.Debug,
		"last_attempt":                    lastAttempt,
		"failed_attempts":                 r.FailedAttempts,
		"relationship":                    map[string]any{"offer": offer, "affiliate": affiliate},
	}
}

// csvColumns are the export's CSV columns: the flat fields of a pixel.
var csvColumns = []string{"network_id", "network_offer_id", "affiliate_id", "pixel_id", "conversion_id", "transaction_id",
	"timestamp", "delivery_method", "pixel_level", "pixel_status", "pixel_type", "payload", "is_success",
	"debug_information", "last_attempt", "failed_attempts"}

// csvCell neutralises a cell a spreadsheet would run as a formula (OWASP's
// CSV injection advice): one starting with =, +, -, @, a tab or a carriage
// return gets a leading single quote. Payloads and debug text come from
// advertisers' and affiliates' own input, and the export is opened in
// spreadsheets.
func csvCell(v string) string {
	if v != "" && strings.IndexByte("=+-@\t\r", v[0]) >= 0 {
		return "'" + v
	}
	return v
}

// exportPixels streams every matching row as CSV or newline-delimited JSON.
func (s *Server) exportPixels(ctx *fasthttp.RequestCtx, q clickhouse.PostbackQuery, format string) {
	if format == "csv" {
		ctx.SetContentType("text/csv; charset=utf-8")
	} else {
		ctx.SetContentType("application/x-ndjson")
	}
	ctx.Response.Header.Set("Content-Disposition", `attachment; filename="pixels.`+format+`"`)
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cw := csv.NewWriter(w)
		if format == "csv" {
			_ = cw.Write(csvColumns)
		}
		err := s.deps.Warehouse.PostbackReport(rctx, q, func(r *clickhouse.PostbackRow) error {
			p := s.pixel(r)
			if format == "json" {
				line, err := json.Marshal(p)
				if err != nil {
					return err
				}
				_, err = w.Write(append(line, '\n'))
				return err
			}
			record := make([]string, len(csvColumns))
			for i, c := range csvColumns {
				record[i] = csvCell(fmt.Sprint(p[c]))
			}
			return cw.Write(record)
		})
		cw.Flush()
		if err != nil {
			// Headers are gone: the truncated stream is all that can say it.
			s.log.Error().Err(err).Msg("postback export failed part way")
		}
	})
}
