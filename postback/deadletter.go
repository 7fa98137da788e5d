package postback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// A delivery (one postback, one conversion, one event) that runs out of
// attempts, meets a permanent error (a 4xx but 429, an invalid or blocked
// URL), or comes while its postback is disabled, lands in the postback's
// dead letter in Redis: the job it would run next, ready to be re-driven
// into the retry queue with a fresh round of attempts. A postback whose
// deliveries keep dying is disabled (Configuration.DisableAfter).

// Why a delivery is in the dead letter.
const (
	ReasonExhausted = "attempts_exhausted" // every attempt of its round failed
	ReasonPermanent = "permanent_error"    // a 4xx (but 429), or a URL that cannot or may not be requested
	ReasonDisabled  = "postback_disabled"  // kept, not sent, while its postback was disabled
)

// DeliveryID names a delivery within its postback.
func DeliveryID(conversionID, event string) string { return conversionID + ":" + event }

// SplitDeliveryID is DeliveryID's inverse; ok is false for a malformed id.
func SplitDeliveryID(id string) (conversionID, event string, ok bool) {
	i := strings.LastIndexByte(id, ':')
	if i <= 0 || i == len(id)-1 {
		return "", "", false
	}
	return id[:i], id[i+1:], true
}

// DeadJob is what a dead-letter entry tells of its delivery.
type DeadJob struct {
	ConversionID string
	ClickID      string
	Event        string
	Reason       string
	// Attempts is how many attempts were made before it died.
	Attempts uint32
}

// DecodeDeadJob reads a dead-letter entry's job.
func DecodeDeadJob(raw []byte) (DeadJob, error) {
	var j job
	if err := json.Unmarshal(raw, &j); err != nil {
		return DeadJob{}, fmt.Errorf("decoding a dead-lettered postback job: %w", err)
	}
	return DeadJob{ConversionID: j.Conversion.ID, ClickID: j.Conversion.ClickID, Event: j.Event, Reason: j.Reason,
		Attempts: j.Attempt - 1}, nil
}

// deadLetter moves j to its postback's dead letter. made says whether
// j.Attempt was just made (it was not when the postback is disabled). It
// reports whether j is settled, as deliver does: Redis is retried until
// the stop's deadline.
func (w *Worker) deadLetter(j *job, reason string, made bool) bool {
	kept := *j
	if made {
		kept.Attempt++
	}
	// A re-drive starts a fresh round of attempts whose numbers follow
	// the last one made: postback_attempts is keyed by attempt number.
	kept.Base = kept.Attempt - 1
	kept.Reason = reason
	body, _ := json.Marshal(&kept)
	id := DeliveryID(j.Conversion.ID, j.Event)
	limits := redis.DeadLetterLimits{Max: w.config.DeadLetterMax, TTL: w.config.DeadLetterTTL}
	var added redis.DeadLetterAdd
	ok := w.persist(j.Conversion.ID, j.PostbackID, "cannot put a postback in the dead letter; trying again, its conversion stays uncommitted",
		func(ctx context.Context) error {
			var err error
			added, err = w.state.AddDeadLetter(ctx, j.PostbackID, id, body, w.now(), limits, made)
			return err
		})
	if !ok {
		return false
	}
	w.deadLettered.Inc()
	w.deadEvicted.Add(int(added.Evicted))
	if made && w.config.DisableAfter > 0 && added.Failures >= int64(w.config.DisableAfter) &&
		w.now().Sub(added.FirstFailure) >= w.config.DisableMinAge {
		w.disable(j.PostbackID, added)
	}
	return true
}

// disable turns a postback off after its run of failed deliveries, through
// the entity store: every process sees it, and the journal keeps it. Only
// its status fields change, on the postback as stored now: an edit made
// since this process's catalog was read stays (Disabling).
func (w *Worker) disable(postbackID string, run redis.DeadLetterAdd) {
	if pb := w.catalog.Postback(postbackID); pb == nil || pb.Status != model.StatusActive {
		return // deleted, paused, or disabled already (by another worker)
	}
	reason := fmt.Sprintf("%d consecutive failed deliveries since %s", run.Failures, model.FormatTime(run.FirstFailure, model.APITimeLayout))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.hardCtx), 10*time.Second)
	defer cancel()
	disabled := false
	saved, err := w.state.UpdateEntity(ctx, model.KindPostback, postbackID, func(e model.Entity) (model.Entity, error) {
		next, err := Disabling(w.now(), reason)(e)
		disabled = err == nil
		return next, err
	})
	switch {
	case errors.Is(err, redis.ErrNoEntity) || err == nil && !disabled:
		return // deleted, or not active any more, meanwhile
	case err != nil:
		// The next failed delivery tries again.
		w.hotLog.Error().Err(err).Str("postback_id", postbackID).Msg("cannot disable a failing postback")
		return
	}
	w.disabled.Inc()
	w.log.Warn().Str("postback_id", postbackID).Str("affiliate_id", saved.(*model.Postback).AffiliateID).Int64("consecutive_failures", run.Failures).
		Time("failing_since", run.FirstFailure).Msg("postback disabled: its receiver keeps failing; its deliveries are kept in the dead letter")
}

// Disabling is the change (for the entity store's UpdateEntity) that turns
// an active postback off at at, for reason: its status fields only, so an
// edit of its URL or event made meanwhile is kept. A postback that is not
// active any more is left as it is (redis.ErrNoChange).
func Disabling(at time.Time, reason string) func(model.Entity) (model.Entity, error) {
	return func(e model.Entity) (model.Entity, error) {
		pb := e.(*model.Postback)
		if pb.Status != model.StatusActive {
			return nil, redis.ErrNoChange
		}
		pb.Status = model.StatusDisabled
		pb.DisabledAt = model.FormatTime(at, model.APITimeLayout)
		pb.DisabledReason = reason
		return pb, nil
	}
}

// persist runs write until Redis takes it or the stop's deadline passes
// (then it reports false: the caller keeps the work uncommitted, so it is
// redone rather than lost).
func (w *Worker) persist(conversionID, postbackID, failure string, write func(ctx context.Context) error) bool {
	backoff := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(w.hardCtx, 5*time.Second)
		err := write(ctx)
		cancel()
		if err == nil {
			return true
		}
		w.scheduleErrors.Inc()
		w.hotLog.Error().Err(err).Str("conversion_id", conversionID).Str("postback_id", postbackID).Dur("retry_in", backoff).Msg(failure)
		select {
		case <-time.After(backoff):
		case <-w.hardCtx.Done():
			return false
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
