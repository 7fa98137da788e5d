package postback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/macro"
	"github.com/clickrelay/clickrelay/model"
)

// Limits on what an attempt record keeps of a response.
const (
	maxBodyKept  = 256
	maxDebugKept = 1024
)

// deliver makes one attempt of j and decides what follows: done, another
// attempt later, or giving up. It reports whether j is settled: delivered,
// given up, or its next attempt durably scheduled. An unsettled job (the
// stop's deadline came while Redis refused the retry) must not be
// committed: its conversion is redelivered, or its leased retry runs again.
func (w *Worker) deliver(j *job, slot *hostSlot) (settled bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.hardCtx), w.config.Timeout+5*time.Second)
	defer cancel()
	c := &j.Conversion
	pb := w.catalog.Postback(j.PostbackID)
	if pb == nil || pb.Status != model.StatusActive {
		return true // deleted or paused since: nothing to send
	}
	if done, err := w.state.Delivered(ctx, c.ID, pb.ID, j.Event); err == nil && done {
		w.skipped.Inc()
		return true
	}

	target, _ := macro.Expand(nil, pb.URL, values(c, j.Event))
	start := w.now()
	outcome := w.fire(ctx, string(target))
	took := w.now().Sub(start)
	slot.report(outcome.err) // free the host's slot before the bookkeeping
	w.latency.Update(took.Seconds())

	success := outcome.err == nil && outcome.status >= 200 && outcome.status < 300
	retryable := outcome.err != nil && !outcome.invalid ||
		outcome.status == http.StatusTooManyRequests || outcome.status >= 500
	final := success || !retryable || j.Attempt >= uint32(w.config.MaxAttempts)

	w.record(ctx, &model.Attempt{
		ConversionID:  c.ID,
		PostbackID:    pb.ID,
		Event:         j.Event,
		Number:        j.Attempt,
		Time:          start.UnixMilli(),
		ClickID:       c.ClickID,
		OfferID:       c.OfferID,
		AffiliateID:   c.AffiliateID,
		AdvertiserID:  c.AdvertiserID,
		Level:         pb.Level(),
		URL:           string(target),
		Success:       success,
		StatusCode:    outcome.status,
		Debug:         outcome.debug(string(target)),
		Final:         final,
		LatencyMicros: took.Microseconds(),
	})

	switch {
	case success:
		w.delivered.Inc()
		if err := w.state.MarkDelivered(ctx, c.ID, pb.ID, j.Event); err != nil {
			w.hotLog.Warn().Err(err).Str("conversion_id", c.ID).Msg("delivered, but cannot record it; a redelivery may fire it again")
		}
	case final:
		w.failed.Inc()
		w.hotLog.Info().Str("conversion_id", c.ID).Str("postback_id", pb.ID).Int("status", outcome.status).
			AnErr("error", outcome.err).Uint32("attempt", j.Attempt).Msg("postback failed for good")
	default:
		w.retried.Inc()
		next := *j
		next.Attempt++
		body, _ := json.Marshal(&next)
		due := w.now().Add(w.config.retryDelay(j.Attempt))
		return w.schedule(due, body, c.ID, pb.ID)
	}
	return true
}

// schedule queues a retry in Redis, trying again until Redis takes it or
// the stop's deadline passes (then it reports false: the caller keeps the
// work uncommitted, so it is redone rather than lost).
func (w *Worker) schedule(due time.Time, body []byte, conversionID, postbackID string) bool {
	backoff := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(w.hardCtx, 5*time.Second)
		err := w.state.ScheduleRetry(ctx, due, body)
		cancel()
		if err == nil {
			return true
		}
		w.scheduleErrors.Inc()
		w.hotLog.Error().Err(err).Str("conversion_id", conversionID).Str("postback_id", postbackID).Dur("retry_in", backoff).
			Msg("cannot schedule a postback retry; trying again, its conversion stays uncommitted")
		select {
		case <-time.After(backoff):
		case <-w.hardCtx.Done():
			return false
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// outcome is what a request came to.
type outcome struct {
	status  int
	header  http.Header
	body    string
	err     error
	invalid bool // the URL is unusable or not allowed: retrying cannot help
	url     *url.URL
}

func (w *Worker) fire(ctx context.Context, target string) outcome {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return outcome{err: fmt.Errorf("not a valid http(s) URL: %s", redactURL(target)), invalid: true}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return outcome{err: redactError(err), invalid: true, url: u}
	}
	req.Header.Set("User-Agent", "clickrelay-postback/1")
	resp, err := w.client.Do(req)
	if err != nil {
		// The SSRF guard refuses at dial time, so its refusal arrives here.
		return outcome{err: redactError(err), invalid: errors.Is(err, ErrBlocked), url: u}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyKept))
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10) // let the connection be reused
	return outcome{status: resp.StatusCode, header: resp.Header, body: string(body), url: resp.Request.URL}
}

// debug writes the attempt's debug_information in the shape seed 004 shows.
func (o outcome) debug(target string) string {
	var b strings.Builder
	b.WriteString("PostbackUrl: " + target + "\n")
	if o.err != nil {
		b.WriteString("Error: " + o.err.Error() + "\n")
	} else {
		b.WriteString("Status: " + strconv.Itoa(o.status) + "\n")
	}
	if o.url != nil {
		b.WriteString("Scheme: " + o.url.Scheme + "\nPath: " + o.url.Path + "\nAuthority: " + o.url.Host + "\n")
	}
	if o.header != nil {
		var hs []string
		for _, name := range []string{"Server", "Content-Type", "Retry-After"} {
			if v := o.header.Values(name); len(v) > 0 {
				hs = append(hs, name+": ["+strings.Join(v, " ")+"]")
			}
		}
		b.WriteString("Headers: " + strings.Join(hs, " ") + "\n")
	}
	if o.body != "" {
		b.WriteString("Body: " + o.body)
	}
	s := strings.TrimRight(b.String(), "\n")
	if len(s) > maxDebugKept {
		s = s[:maxDebugKept]
	}
	return s
}

// record logs an attempt to Kafka. It is the only trace of the attempt, so
// it waits for the ack; a failure is logged (the request itself happened).
func (w *Worker) record(ctx context.Context, a *model.Attempt) {
	body, _ := json.Marshal(a)
	if err := w.attempts.WriteMessages(ctx, kafkago.Message{Key: []byte(a.ConversionID), Value: body}); err != nil {
		w.hotLog.Error().Err(err).Str("conversion_id", a.ConversionID).Str("postback_id", a.PostbackID).
			Msg("cannot log a postback attempt; the delivery report will miss it")
	}
}

// values fills a postback's macros from a conversion (API.md §6).
func values(c *model.Conversion, event string) *macro.Values {
	var v macro.Values
	v.SetString(macro.ClickID, c.ClickID)
	v.SetString(macro.TransactionID, c.ClickID)
	v.SetString(macro.Payout, model.FormatMicros(c.PayoutMicros))
	v.SetString(macro.OfferID, c.OfferID)
	v.SetString(macro.AffID, c.AffiliateID)
	v.SetString(macro.Geo, c.Country)
	for i, n := range macro.Subs() {
		v.SetString(n, c.Subs[i])
	}
	v.SetString(macro.AffClickID, c.AffClickID)
	v.SetString(macro.ConversionID, c.ID)
	v.SetString(macro.TxID, c.TxID)
	v.SetString(macro.Amount, model.FormatMicros(c.AmountMicros))
	v.SetString(macro.Currency, c.Currency)
	v.SetString(macro.Event, event)
	v.SetString(macro.Goal, c.Goal)
	v.SetString(macro.Status, c.Status)
	v.SetString(macro.Timestamp, strconv.FormatInt(c.Time/1000, 10))
	return &v
}
