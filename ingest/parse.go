package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Request is a conversion as an advertiser reports it, aliases resolved.
type Request struct {
	ClickID    string
	Amount     string // as sent; parsed by the service
	HasAmount  bool
	TxID       string
	CustomerID string
	Goal       string
	// Secure is the API key when sent in the body or query (seed 002's
	// "secure" field).
	Secure string
	// SourceIP is where the request came from (behind trusted proxies),
	// for the advertiser's allow list; set by the caller, never parsed.
	SourceIP netip.Addr
}

// The names seed 002 accepts for each field, the canonical one first.
var (
	clickIDNames    = []string{"clickid", "click_id", "cid"}
	amountNames     = []string{"sum", "amount", "revenue"}
	txIDNames       = []string{"action_id", "txid", "order_id"}
	customerIDNames = []string{"user_id", "customer_id"}
	goalNames       = []string{"goal", "event", "event_type"}
)

// Limits on what an advertiser may send.
const (
	MaxBodyBytes = 64 << 10
	MaxIDLen     = 255 // txid, user_id
	MaxGoalLen   = 64
)

// FieldError is a request refused before any lookup, with seed 002's
// VALIDATION_ERROR message.
type FieldError struct{ Message string }

func (e *FieldError) Error() string { return e.Message }

// lookup returns a field's value by one of its names.
type lookup func(name string) (string, bool, error)

// resolve returns a field's value by the first of its names that holds one.
// An empty value counts as absent: trackers send "sum=" when a macro has
// nothing to fill in.
func resolve(get lookup, names []string) (string, bool, error) {
	for _, n := range names {
		v, ok, err := get(n)
		if err != nil {
			return "", false, err
		}
		if ok && v != "" {
			return v, true, nil
		}
	}
	return "", false, nil
}

func parse(get lookup) (Request, error) {
	var r Request
	var err error
	if r.ClickID, _, err = resolve(get, clickIDNames); err != nil {
		return r, err
	}
	if r.Amount, r.HasAmount, err = resolve(get, amountNames); err != nil {
		return r, err
	}
	if r.TxID, _, err = resolve(get, txIDNames); err != nil {
		return r, err
	}
	if r.CustomerID, _, err = resolve(get, customerIDNames); err != nil {
		return r, err
	}
	if r.Goal, _, err = resolve(get, goalNames); err != nil {
		return r, err
	}
	if r.Secure, _, err = resolve(get, []string{"secure"}); err != nil {
		return r, err
	}
	return r, nil
}

// ParseJSON reads a JSON conversion body. Values may be strings or numbers
// (an amount of 149.99 and of "149.99" are the same); null is absent.
func ParseJSON(body []byte) (Request, error) {
	get, err := jsonLookup(body)
	if err != nil {
		return Request{}, err
	}
	return parse(get)
}

// ParseQuery reads a conversion from query parameters (GET /pb/{id}).
func ParseQuery(peek func(name string) ([]byte, bool)) Request {
	r, _ := parse(queryLookup(peek))
	return r
}

// jsonLookup reads the fields of a JSON object body.
func jsonLookup(body []byte) (lookup, error) {
	if len(body) > MaxBodyBytes {
		return nil, &FieldError{fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes)}
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, &FieldError{"request body must be a JSON object"}
	}
	return func(name string) (string, bool, error) {
		raw, ok := fields[name]
		if !ok {
			return "", false, nil
		}
		raw = bytes.TrimSpace(raw)
		switch {
		case bytes.Equal(raw, []byte("null")):
			return "", false, nil
		case len(raw) > 0 && raw[0] == '"':
			// encoding/json would turn invalid UTF-8 (and a lone
			// surrogate escape) into U+FFFD without a word: a txid
			// silently rewritten no longer matches the advertiser's.
			if !utf8.Valid(raw) {
				return "", false, &FieldError{name + " must be valid UTF-8"}
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", false, &FieldError{name + " must be a string"}
			}
			if strings.ContainsRune(s, utf8.RuneError) && !bytes.ContainsRune(raw, utf8.RuneError) &&
				!bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`)) {
				return "", false, &FieldError{name + " must be valid UTF-8"}
			}
			return s, true, nil
		case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
			if _, err := strconv.ParseFloat(string(raw), 64); err != nil {
				// Valid JSON out of float64's range (1e309): too large
				// for an amount; a numeric txid is kept as written.
				if errors.Is(err, strconv.ErrRange) {
					if slices.Contains(amountNames, name) {
						return "", false, &FieldError{errAmountTooLarge}
					}
					return string(raw), true, nil
				}
				return "", false, &FieldError{name + " must be a string or a number"}
			}
			return string(raw), true, nil
		}
		return "", false, &FieldError{name + " must be a string or a number"}
	}, nil
}

// queryLookup reads fields from query parameters.
func queryLookup(peek func(name string) ([]byte, bool)) lookup {
	return func(name string) (string, bool, error) {
		v, ok := peek(name)
		return string(v), ok, nil
	}
}

// check applies the limits every field has, whatever the offer.
func (r *Request) check() error {
	switch {
	case r.ClickID == "":
		return &FieldError{"click_id is required"}
	case len(r.TxID) > MaxIDLen:
		return &FieldError{fmt.Sprintf("txid must be at most %d characters", MaxIDLen)}
	case len(r.CustomerID) > MaxIDLen:
		return &FieldError{fmt.Sprintf("customer_id must be at most %d characters", MaxIDLen)}
	case len(r.Goal) > MaxGoalLen:
		return &FieldError{fmt.Sprintf("goal must be at most %d characters", MaxGoalLen)}
	}
	for _, f := range []struct{ name, value string }{{"txid", r.TxID}, {"customer_id", r.CustomerID}, {"goal", r.Goal}} {
		if err := checkText(f.name, f.value); err != nil {
			return err
		}
	}
	return nil
}

// checkText refuses what would be stored differently from what was sent,
// or break a CSV export or a log line: invalid UTF-8 (a query string may
// carry any bytes) and control characters, NUL included.
func checkText(name, v string) error {
	if !utf8.ValidString(v) {
		return &FieldError{name + " must be valid UTF-8"}
	}
	for _, c := range v {
		if unicode.IsControl(c) {
			return &FieldError{name + " must not contain control characters"}
		}
	}
	return nil
}
