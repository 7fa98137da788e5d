// Package ingest takes conversions from advertisers (seed 002): it resolves
// field aliases, finds the click, validates against the offer, claims the
// dedupe keys, computes the payout, and makes the conversion durable in
// Kafka before it answers.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/clickid"
	"github.com/clickrelay/clickrelay/internal/hotlog"
	"github.com/clickrelay/clickrelay/internal/promtext"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// catalog is where offers, and affiliates' records on them, are read.
type catalog interface {
	Offer(idOrSlug string) *model.Offer
	OfferAffiliate(offerID, affiliateID string) *model.OfferAffiliate
	Advertiser(id string) *model.Advertiser
}

// conversionCaps are the caps a conversion counts against (caps.Caps).
type conversionCaps interface {
	ConversionCounts(offer *model.Offer, rec *model.OfferAffiliate, payout, revenue int64, now time.Time) []redis.CapCount
}

// store holds clicks and dedupe claims.
// warehouseClicks finds a click Redis does not hold in the raw table.
type warehouseClicks interface {
	Click(ctx context.Context, id string, minted time.Time) (model.Click, bool, error)
}

type store interface {
	Click(ctx context.Context, id string) ([]byte, bool, error)
	Claim(ctx context.Context, owner string, claims []redis.Claim, caps []redis.CapCount, payload, rejected []byte,
		now time.Time, lease time.Duration) (redis.ClaimResult, error)
	Confirm(ctx context.Context, owner string, claims []redis.Claim) error
	Abandon(ctx context.Context, owner string, claims []redis.Claim) error
	ReleaseCaps(ctx context.Context, counts []redis.CapCount) error
}

// producer writes to a topic and waits for the ack.
type producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Dependencies of the service.
type Dependencies struct {
	Logger   zerolog.Logger
	Metrics  *metrics.Set
	Catalog  catalog
	Store    store
	Producer producer // the conversions topic
	Events   producer // the events topic
	Minter   *clickid.Minter
	Now      func() time.Time
	// Tests keeps test sessions (seed 002). Without it a test click_id is
	// refused as "Click not found".
	Tests testSessionStore
	// Conversions and Statuses serve status changes (status.go); without
	// them ChangeStatus answers ErrUnavailable.
	Conversions conversionReader
	// Clicks, when set, is asked for a click Redis does not hold: one
	// answered with a 302 reaches ClickHouse through Kafka even when Redis
	// lost it (an outage that outlasted the process retrying it), so it
	// still converts.
	Clicks   warehouseClicks
	Statuses statusStore
	// Caps, when set, are counted in the script that takes a conversion's
	// claims: past a reached one it is recorded as rejected (cap_reached).
	Caps conversionCaps
}

// Service takes conversions.
type Service struct {
	config Configuration
	log    zerolog.Logger
	// hotLog is log sampled: an outage of Redis or the broker fails every
	// request, and must not become a flood of identical lines.
	hotLog   zerolog.Logger
	catalog  catalog
	store    store
	producer producer
	events   producer
	minter   *clickid.Minter
	now      func() time.Time
	tests    testSessionStore

	conversions conversionReader
	clicks      warehouseClicks
	statuses    statusStore
	caps        conversionCaps

	tracked, duplicates, invalid, unavailable, eventsTracked, freshWaits *metrics.Counter
	statusChanges, republished, clickPending, clicksFromWarehouse        *metrics.Counter
	// rejected counts the conversions taken as rejected, by reason.
	rejected map[string]*metrics.Counter
	// warehouseLookup times the cold path's ClickHouse read.
	warehouseLookup *promtext.Histogram
}

// New returns the service.
func New(deps Dependencies, config Configuration) (*Service, error) {
	if deps.Catalog == nil || deps.Store == nil || deps.Producer == nil || deps.Events == nil || deps.Minter == nil {
		return nil, errors.New("ingest: catalog, store, producers and minter are required")
	}
	set := deps.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	s := &Service{
		config:        config,
		log:           deps.Logger.With().Str("component", "ingest").Logger(),
		catalog:       deps.Catalog,
		store:         deps.Store,
		producer:      deps.Producer,
		events:        deps.Events,
		minter:        deps.Minter,
		now:           deps.Now,
		tests:         deps.Tests,
		tracked:       set.NewCounter(`clickrelay_conversions_total{result="tracked"}`),
		duplicates:    set.NewCounter(`clickrelay_conversions_total{result="not_tracked"}`),
		invalid:       set.NewCounter(`clickrelay_conversions_total{result="invalid"}`),
		unavailable:   set.NewCounter(`clickrelay_conversions_total{result="unavailable"}`),
		eventsTracked: set.NewCounter(`clickrelay_events_total`),
		freshWaits:    set.NewCounter(`clickrelay_conversion_fresh_click_waits_total`),
		statusChanges: set.NewCounter(`clickrelay_conversion_status_changes_total`),
		republished:   set.NewCounter(`clickrelay_conversions_republished_total`),
		clickPending:  set.NewCounter(`clickrelay_conversion_click_pending_total`),
		// Conversions whose click Redis did not hold, found in ClickHouse.
		clicksFromWarehouse: set.NewCounter(`clickrelay_conversion_clicks_from_clickhouse_total`),
		warehouseLookup:     promtext.NewHistogram(set, `clickrelay_conversion_click_clickhouse_seconds`, promtext.FlushSeconds),
		conversions:         deps.Conversions,
		clicks:              deps.Clicks,
		statuses:            deps.Statuses,
		caps:                deps.Caps,
	}
	s.rejected = make(map[string]*metrics.Counter, len(rejectionMessages))
	for reason := range rejectionMessages {
		s.rejected[reason] = set.NewCounter(`clickrelay_conversions_total{result="` + reason + `"}`)
	}
	s.hotLog = hotlog.Sampled(s.log)
	if s.now == nil {
		s.now = time.Now
	}
	if s.config.TestSessionTTL <= 0 { // a zero TTL would make sessions immortal in Redis
		s.config.TestSessionTTL = DefaultConfiguration().TestSessionTTL
	}
	return s, nil
}

// Start and Stop are the lifecycle every component shares
// (internal/daemon). The intake runs nothing of its own between them: its
// work is the HTTP server's requests, drained before the intake stops, and
// its producers are stopped after it.
func (s *Service) Start(context.Context) error { return nil }

// Stop: see Start.
func (s *Service) Stop(context.Context) error { return nil }

// Reasons a conversion is acknowledged but not tracked (seed 002), with the
// message sent along.
const (
	ReasonDuplicateTxID   = "duplicate_txid"
	ReasonCustomerLimit   = "cpa_customer_limit"
	ReasonClickLimit      = "cpa_click_limit"
	ReasonCapReached      = model.ReasonCapReached
	ReasonCTITTooShort    = model.ReasonCTITTooShort
	ReasonCTITTooLong     = model.ReasonCTITTooLong
	ReasonIPNotAllowed    = model.ReasonIPNotAllowed
	msgCapReached         = "Conversion received. The offer's cap is reached: it is recorded as rejected and pays nothing."
	msgCTITTooShort       = "Conversion received. It came sooner after its click than the offer allows: it is recorded as rejected and pays nothing."
	msgCTITTooLong        = "Conversion received. It came later after its click than the offer allows: it is recorded as rejected and pays nothing."
	msgIPNotAllowed       = "Conversion received. It came from an address outside the advertiser's allow list: it is recorded as rejected and pays nothing."
	defaultGoal           = "purchase"
	msgDuplicateTxID      = "Conversion received. A conversion with this transaction ID was already recorded."
	msgCustomerLimit      = "Conversion received. This customer already converted under this CPA offer."
	msgClickLimit         = "Conversion received. This click already converted under this CPA offer."
	errUnauthorizedVendor = "Unauthorized - click belongs to different vendor"
	errClickNotFound      = "Click not found"
	errOfferNotFound      = "Offer not found"
	errOfferNotActive     = "Offer not active"
	errAmountRequired     = "amount required for CPS/RevShare/percentage offers"
	errAmountPositive     = "amount must be positive"
	errAmountNotANumber   = "amount must be a number"
	errAmountTooLarge     = "amount is too large"
	errWrongEndpointOffer = "Click belongs to a different offer than this endpoint"
)

// Result is the answer to a conversion that passed validation.
type Result struct {
	Tracked bool
	// Conversion is what was recorded: tracked, or taken as rejected with
	// its Reason (Rejected).
	Conversion *model.Conversion
	Reason     string // when not tracked
	Message    string
}

// Rejected reports whether the conversion was recorded as rejected at
// intake (past a cap, a click-to-conversion bound, an address not allowed):
// acknowledged, kept in the log, paying nothing.
func (r Result) Rejected() bool {
	return !r.Tracked && r.Conversion != nil && r.Conversion.Reason != ""
}

// rejectionMessages are what the advertiser is told of each reason a
// conversion was taken as rejected.
var rejectionMessages = map[string]string{
	ReasonCapReached: msgCapReached, ReasonCTITTooShort: msgCTITTooShort, ReasonCTITTooLong: msgCTITTooLong, ReasonIPNotAllowed: msgIPNotAllowed,
}

// ErrUnavailable means the conversion could not be made durable: answer 503.
// Its dedupe claims were released, so a retry is accepted.
var ErrUnavailable = errors.New("conversion could not be made durable")

// Scope restricts which conversions a caller may report.
type Scope struct {
	AdvertiserID string
	// OfferID, when set, is the only offer accepted (a per-offer endpoint).
	OfferID string
}

// Convert validates and records a conversion. A *FieldError is a refusal
// to report as VALIDATION_ERROR; ErrUnavailable calls for a 503.
func (s *Service) Convert(ctx context.Context, scope Scope, req Request) (Result, error) {
	res, err := s.convert(ctx, scope, req)
	switch {
	case err != nil:
		return res, s.count(err)
	case res.Tracked:
		s.tracked.Inc()
	case res.Rejected():
		s.rejectedFor(res.Reason).Inc()
	default:
		s.duplicates.Inc()
	}
	return res, nil
}

// rejectedFor is the counter of conversions taken as rejected for reason.
func (s *Service) rejectedFor(reason string) *metrics.Counter { return s.rejected[reason] }

// count counts a refusal as invalid (a *FieldError) or unavailable.
func (s *Service) count(err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		s.invalid.Inc()
	} else {
		s.unavailable.Inc()
	}
	return err
}

// checkOffer finds the click's offer and checks the caller may report on
// it, with seed 002's messages.
func (s *Service) checkOffer(scope Scope, click *model.Click) (*model.Offer, error) {
	offer := s.catalog.Offer(click.OfferID)
	switch {
	case offer == nil:
		return nil, &FieldError{errOfferNotFound}
	case offer.Status != model.StatusActive:
		return nil, &FieldError{errOfferNotActive}
	case offer.AdvertiserID != scope.AdvertiserID:
		return nil, &FieldError{errUnauthorizedVendor}
	case scope.OfferID != "" && scope.OfferID != offer.ID:
		return nil, &FieldError{errWrongEndpointOffer}
	}
	return offer, nil
}

func (s *Service) convert(ctx context.Context, scope Scope, req Request) (Result, error) {
	if err := req.check(); err != nil {
		return Result{}, err
	}
	now := s.now()
	click, err := s.findClick(ctx, req.ClickID, now)
	if err != nil {
		return Result{}, err
	}
	offer, conv, err := s.validate(scope, req, click, now)
	if click.Test || strings.HasPrefix(click.ID, clickid.TestPrefix) {
		// Validated exactly as a real one, then only recorded on its
		// session: no claims, no Kafka, so never counted, paid or
		// postbacked.
		return s.recordTest(ctx, req, conv, err, now)
	}
	if err != nil {
		return Result{}, err
	}

	// From an address its advertiser does not send from, or outside the
	// offer's click-to-conversion bounds, it is recorded as rejected, as
	// past a cap: acknowledged, kept in the log, paying nothing.
	if reason := s.brokenRule(offer, click, req, now); reason != "" {
		rejectAtIntake(conv, reason)
	}
	claims := dedupeClaims(offer, conv)
	body, err := json.Marshal(conv)
	if err != nil {
		return Result{}, fmt.Errorf("encoding a conversion: %w", err)
	}
	// Past a reached cap it is recorded all the same, as rejected and
	// paying nothing, so the advertiser can reconcile against it.
	var caps []redis.CapCount
	var capped *model.Conversion
	var rejected []byte
	if s.caps != nil && conv.Reason == "" {
		caps = s.caps.ConversionCounts(offer, s.catalog.OfferAffiliate(offer.ID, conv.AffiliateID), conv.PayoutMicros, conv.RevenueMicros, now)
	}
	if len(caps) > 0 {
		c := *conv
		rejectAtIntake(&c, ReasonCapReached)
		capped = &c
		if rejected, err = json.Marshal(capped); err != nil {
			return Result{}, fmt.Errorf("encoding a conversion: %w", err)
		}
	}
	claim, err := s.store.Claim(ctx, conv.ID, claims, caps, body, rejected, now, s.claimLease())
	switch {
	case err != nil:
		s.hotLog.Error().Err(err).Msg("cannot claim dedupe keys")
		return Result{}, ErrUnavailable
	case claim.Stranded != nil:
		return s.recoverStranded(ctx, claims, claim)
	case claim.InFlight:
		// Its owner may yet fail: "duplicate" could be a lie, so the
		// advertiser is asked to come back once the owner is settled.
		return Result{}, ErrUnavailable
	case claim.Held >= 0:
		return notTracked(claims[claim.Held].Scope), nil
	case claim.CapReached >= 0:
		conv, body, caps = capped, rejected, nil // no counter took it
	}
	if err := s.publishRaw(ctx, s.producer, conv.ClickID, body); err != nil {
		s.hotLog.Error().Err(err).Str("conversion_id", conv.ID).Msg("conversion not acknowledged by Kafka; answering 503")
		s.abandon(conv.ID, claims)
		if len(claims) == 0 {
			// No claim keeps its place for a retry to re-publish it by.
			s.releaseCaps(caps)
		}
		return Result{}, ErrUnavailable
	}
	s.confirm(ctx, conv.ID, claims)
	return resultOf(conv), nil
}

// resultOf answers a conversion recorded: tracked, or acknowledged and not
// tracked, taken as rejected (its Reason).
func resultOf(conv *model.Conversion) Result {
	if conv.Reason != "" {
		return Result{Conversion: conv, Reason: conv.Reason, Message: rejectionMessages[conv.Reason]}
	}
	return Result{Tracked: true, Conversion: conv}
}

// rejectAtIntake makes conv a conversion taken as rejected for reason:
// paying nothing, counted as rejected, firing no postback.
func rejectAtIntake(conv *model.Conversion, reason string) {
	conv.Status, conv.Reason, conv.PayoutMicros, conv.RevenueMicros = model.ConversionRejected, reason, 0, 0
}

// brokenRule is the conversion rule a conversion on click, reported by req
// at now, breaks (ReasonIPNotAllowed, ReasonCTITTooShort, ...), or "".
func (s *Service) brokenRule(offer *model.Offer, click *model.Click, req Request, now time.Time) string {
	if adv := s.catalog.Advertiser(offer.AdvertiserID); adv != nil && !adv.AllowsConversionFrom(req.SourceIP) {
		return ReasonIPNotAllowed
	}
	return offer.CTITReason(click.Time, now.UnixMilli())
}

// releaseCaps takes back what a conversion that was not recorded added to
// its caps' counters. A failure leaves the places taken until the period
// ends: a cap stops a conversion early, never lets one more through.
func (s *Service) releaseCaps(caps []redis.CapCount) {
	if len(caps) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.store.ReleaseCaps(ctx, caps); err != nil {
		s.hotLog.Error().Err(err).Msg("cannot release the caps a conversion not recorded took")
	}
}

// claimLease is how long a conversion's claims stay pending before a
// request meeting them may take over: longer than the broker's
// acknowledgement can take.
func (s *Service) claimLease() time.Duration { return s.config.WriteTimeout + 5*time.Second }

// recoverStranded re-publishes the conversion that owns a stranded claim
// (see storage/redis/claims.go) under its own ID, and confirms it. The
// request that met it is that conversion's retry when it claims the same
// keys: it is answered "tracked" with the owner's conversion. Otherwise it
// is a duplicate of the owner.
func (s *Service) recoverStranded(ctx context.Context, claims []redis.Claim, claim redis.ClaimResult) (Result, error) {
	var owner model.Conversion
	if err := json.Unmarshal(claim.Stranded, &owner); err != nil || owner.ID == "" {
		// Not ours to repair: keep the dedupe promise.
		s.hotLog.Error().AnErr("decode", err).Msg("a stranded claim holds no conversion; answering duplicate")
		return notTracked(claims[claim.Held].Scope), nil
	}
	ownerClaims := claims[claim.Held : claim.Held+1]
	if offer := s.catalog.Offer(owner.OfferID); offer != nil {
		ownerClaims = dedupeClaims(offer, &owner)
	}
	if err := s.publishRaw(ctx, s.producer, owner.ClickID, claim.Stranded); err != nil {
		s.hotLog.Error().Err(err).Str("conversion_id", owner.ID).Msg("cannot re-publish a stranded conversion; answering 503")
		s.abandon(owner.ID, ownerClaims)
		return Result{}, ErrUnavailable
	}
	s.republished.Inc()
	s.confirm(ctx, owner.ID, ownerClaims)
	if slices.Equal(ownerClaims, claims) {
		return resultOf(&owner), nil
	}
	return notTracked(claims[claim.Held].Scope), nil
}

// confirm makes claims answer "duplicate" from now on. A failure leaves
// them pending: a later request meeting them re-publishes the same
// conversion, which folds. So it is logged, not answered 503.
func (s *Service) confirm(ctx context.Context, owner string, claims []redis.Claim) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.Confirm(cctx, owner, claims); err != nil {
		s.hotLog.Warn().Err(err).Str("conversion_id", owner).Msg("cannot confirm dedupe claims; a retry will re-publish the same conversion")
	}
}

// abandon ends the lease of claims whose conversion the broker may or may
// not have appended, so the advertiser's retry re-publishes it at once
// (same ID) rather than a second conversion. A failure only delays that
// retry until the lease runs out.
func (s *Service) abandon(owner string, claims []redis.Claim) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.store.Abandon(ctx, owner, claims); err != nil {
		s.hotLog.Error().Err(err).Str("conversion_id", owner).Msg("cannot abandon dedupe claims; a retry waits for their lease to run out")
	}
}

// validate checks a conversion on its click against the offer's rules
// (seed 002's messages) and builds it. On a refusal it still returns the
// conversion as far as it was built, for a test session to show.
func (s *Service) validate(scope Scope, req Request, click *model.Click, now time.Time) (*model.Offer, *model.Conversion, error) {
	conv := &model.Conversion{
		ID:           "conv_" + s.minter.New(now),
		Version:      1,
		Time:         now.UnixMilli(),
		UpdatedTime:  now.UnixMilli(),
		Status:       model.ConversionPending,
		ClickID:      click.ID,
		ClickTime:    click.Time,
		OfferID:      click.OfferID,
		AffiliateID:  click.AffiliateID,
		AdvertiserID: click.AdvertiserID,
		Subs:         click.Subs,
		AffClickID:   click.AffClickID,
		Country:      click.Country,
		Device:       click.Device,
		OS:           click.OS,
		TxID:         req.TxID,
		CustomerID:   req.CustomerID,
		Goal:         req.Goal,
		Test:         click.Test,
		SmartLinkID:  click.SmartLinkID,
	}
	if conv.Goal == "" {
		conv.Goal = defaultGoal
	}
	offer, err := s.checkOffer(scope, click)
	if err != nil {
		return nil, conv, err
	}
	conv.AdvertiserID, conv.PayoutType, conv.Currency = offer.AdvertiserID, offer.PayoutType, offer.Currency
	if conv.Currency == "" {
		conv.Currency = "USD"
	}
	if req.HasAmount {
		amount, err := model.ParseMoney(req.Amount)
		switch {
		case errors.Is(err, model.ErrTooLarge):
			return offer, conv, &FieldError{errAmountTooLarge}
		case err != nil:
			return offer, conv, &FieldError{errAmountNotANumber}
		case amount <= 0:
			return offer, conv, &FieldError{errAmountPositive}
		}
		conv.AmountMicros = amount
	} else if offer.IsPercentage() {
		return offer, conv, &FieldError{errAmountRequired}
	}
	conv.PayoutMicros, conv.RevenueMicros = model.TermsFor(offer, s.catalog.OfferAffiliate(offer.ID, conv.AffiliateID)).Conversion(conv.AmountMicros)
	if offer.AutoApprove {
		conv.Status = model.ConversionApproved
	}
	return offer, conv, nil
}

// findClick parses and looks up a click. A malformed, forged or expired ID
// costs no lookup. A click minted moments ago may still be on its way to
// Redis (it is written just after its 302): it is waited for, up to
// FreshClickWait after its minting. Redis keeps clicks for their hot window
// only (storage/redis HotWindow): an older one, or one Redis lost, is read
// from ClickHouse by its ID and mint time, and converts exactly as from
// Redis (the attribution window is judged on the mint time, never on a key).
func (s *Service) findClick(ctx context.Context, id string, now time.Time) (*model.Click, error) {
	minted, test, ok := s.minter.Parse(id) // refuses any length but a click_id's
	if !ok || now.Sub(minted) > s.config.AttributionWindow {
		return nil, &FieldError{errClickNotFound}
	}
	payload, found, err := s.store.Click(ctx, id)
	if wait := s.config.FreshClickWait - now.Sub(minted); !found && err == nil && wait > 0 {
		payload, found, err = s.awaitClick(ctx, id, wait)
	}
	if err != nil {
		s.hotLog.Error().Err(err).Msg("cannot read a click")
		return nil, ErrUnavailable
	}
	if !found && !test && s.clicks != nil {
		start := time.Now()
		click, inWarehouse, err := s.clicks.Click(ctx, id, minted)
		s.warehouseLookup.UpdateDuration(start)
		switch {
		case err != nil:
			s.hotLog.Error().Err(err).Msg("cannot read a click from ClickHouse")
			return nil, ErrUnavailable // retryable: it may well be there
		case inWarehouse:
			s.clicksFromWarehouse.Inc()
			return &click, nil
		}
	}
	if !found {
		if !test && now.Sub(minted) < s.config.PendingClickWindow {
			// Authentic and recent: it may still be on its way to Redis
			// (see PendingClickWindow). A retry will find it. A test
			// click is stored with its session before its ID is handed
			// out: missing, it never comes.
			s.clickPending.Inc()
			return nil, ErrUnavailable
		}
		return nil, &FieldError{errClickNotFound}
	}
	var click model.Click
	if err := model.DecodeStoredClick(id, minted.UnixMilli(), payload, &click); err != nil {
		s.hotLog.Error().Err(err).Str("click_id", id).Msg("a stored click does not decode")
		return nil, ErrUnavailable
	}
	return &click, nil
}

// awaitClick polls for a click that should land within wait.
func (s *Service) awaitClick(ctx context.Context, id string, wait time.Duration) ([]byte, bool, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-deadline.C:
			return nil, false, nil
		case <-tick.C:
			if payload, found, err := s.store.Click(ctx, id); found || err != nil {
				s.freshWaits.Inc()
				return payload, found, err
			}
		}
	}
}

// dedupeClaims lists the claims a conversion takes, in the order their
// reasons are checked: a repeated txid first, then (CPA only) a customer or
// a click that already converted. They are grouped by the advertiser (one
// hash slot on a Redis Cluster): each identity is scoped to it or to one of
// its offers.
func dedupeClaims(offer *model.Offer, conv *model.Conversion) []redis.Claim {
	var claims []redis.Claim
	if conv.TxID != "" {
		claims = append(claims, redis.Claim{Scope: redis.ClaimTxID, ID: conv.AdvertiserID + ":" + conv.TxID, Group: conv.AdvertiserID})
	}
	if offer.PayoutType == model.PayoutCPA {
		if conv.CustomerID != "" {
			claims = append(claims, redis.Claim{Scope: redis.ClaimCustomer, ID: offer.ID + ":" + conv.CustomerID, Group: conv.AdvertiserID})
		}
		claims = append(claims, redis.Claim{Scope: redis.ClaimClick, ID: offer.ID + ":" + conv.ClickID, Group: conv.AdvertiserID})
	}
	return claims
}

func notTracked(scope string) Result {
	switch scope {
	case redis.ClaimTxID:
		return Result{Reason: ReasonDuplicateTxID, Message: msgDuplicateTxID}
	case redis.ClaimCustomer:
		return Result{Reason: ReasonCustomerLimit, Message: msgCustomerLimit}
	}
	return Result{Reason: ReasonClickLimit, Message: msgClickLimit}
}

// publish writes a record keyed by its click and waits for every in-sync
// replica. The advertiser hanging up does not cut the write short: claims
// were taken for it.
func (s *Service) publish(ctx context.Context, topic producer, clickID string, record any) error {
	body, err := json.Marshal(record)
	if err != nil {
		return err
	}
	return s.publishRaw(ctx, topic, clickID, body)
}

// publishRaw is publish of a record already encoded.
func (s *Service) publishRaw(ctx context.Context, topic producer, clickID string, body []byte) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.config.WriteTimeout)
	defer cancel()
	return topic.WriteMessages(ctx, kafka.Message{Key: []byte(clickID), Value: body})
}
