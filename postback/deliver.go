package postback

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/model"
)

// deliver makes one attempt of j and decides what follows: done, another
// attempt later, or giving up. It reports whether j is settled: delivered,
// given up, or its next attempt durably scheduled. An unsettled job (the
// stop's deadline came while Redis refused the retry) must not be
// committed: its conversion is redelivered, or its leased retry runs again.
// pb and target are what dispatch resolved (resolve) for the host slot.
func (w *Worker) deliver(j *job, pb *model.Postback, target string, slot *hostSlot) (settled bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.hardCtx), w.config.Timeout+5*time.Second)
	defer cancel()
	c := &j.Conversion
	// The wait for a request slot may have outlasted the postback as
	// dispatch read it: an edit or a deletion replaces the catalog's entry.
	if cur := w.catalog.Postback(j.PostbackID); cur != pb {
		pb, target = w.resolve(j)
	}
	if pb == nil || pb.Status != model.StatusActive && pb.Status != model.StatusDisabled {
		return true // deleted or paused since: nothing to send
	}
	if done, err := w.state.Delivered(ctx, c.ID, pb.ID, j.Event); err == nil && done {
		w.skipped.Inc()
		return true
	}
	if pb.Status == model.StatusDisabled {
		return w.deadLetter(j, ReasonDisabled, false) // kept until it is re-enabled
	}

	start := w.now()
	outcome := w.sender.Send(ctx, target, SecretFor(pb, w.catalog.Affiliate(pb.AffiliateID)))
	took := w.now().Sub(start)
	slot.report(outcome.err) // free the host's slot before the bookkeeping
	w.latency.Update(took.Seconds())

	success := outcome.Delivered()
	retryable := outcome.err != nil && !outcome.invalid ||
		outcome.status == http.StatusTooManyRequests || outcome.status >= 500
	final := success || !retryable || j.Attempt-j.Base >= uint32(w.config.MaxAttempts)

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
		URL:           target,
		Success:       success,
		StatusCode:    outcome.status,
		Debug:         outcome.debug(target),
		Final:         final,
		LatencyMicros: took.Microseconds(),
		ResponseBody:  outcome.body,
		Error:         errorText(outcome.err),
	})

	switch {
	case success:
		w.delivered.Inc()
		if err := w.state.RecordDelivered(ctx, c.ID, pb.ID, j.Event); err != nil {
			w.hotLog.Warn().Err(err).Str("conversion_id", c.ID).Msg("delivered, but cannot record it; a redelivery may fire it again")
		}
	case final:
		w.failed.Inc()
		reason := ReasonPermanent
		if retryable {
			reason = ReasonExhausted
		}
		w.hotLog.Info().Str("conversion_id", c.ID).Str("postback_id", pb.ID).Int("status", outcome.status).
			AnErr("error", outcome.err).Uint32("attempt", j.Attempt).Str("reason", reason).Msg("postback failed for good; it is in the dead letter")
		return w.deadLetter(j, reason, true)
	default:
		w.retried.Inc()
		next := *j
		next.Attempt++
		body, _ := json.Marshal(&next)
		due := w.now().Add(w.config.retryDelay(j.Attempt - j.Base))
		return w.schedule(due, body, c.ID, pb.ID)
	}
	return true
}

// schedule queues a retry in Redis, trying again (persist) until Redis
// takes it or the stop's deadline passes.
func (w *Worker) schedule(due time.Time, body []byte, conversionID, postbackID string) bool {
	return w.persist(conversionID, postbackID, "cannot schedule a postback retry; trying again, its conversion stays uncommitted",
		func(ctx context.Context) error { return w.state.ScheduleRetry(ctx, due, body) })
}

// errorText is err's message, "" for none (err is redacted already).
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
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
