package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/console"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// The web console's sessions: POST, GET and DELETE /console/session. A
// session cookie stands in for the key on the JSON APIs (isAdmin,
// withAffiliate), and a write must repeat the session's CSRF token.

// signInLimit bounds sign-in attempts per client address, right or wrong:
// guessing keys through the console is as slow as through the APIs.
var signInLimit = redis.Window{Name: "signin", Limit: 30, Period: time.Minute}

// csrfHeader carries a cookie session's CSRF token on writes.
const csrfHeader = "X-CSRF-Token"

// msgCSRFFailed answers a console write without its session's CSRF token.
const msgCSRFFailed = "A console write must carry the session's X-CSRF-Token header; reload the console."

// cookieState is what a request's session cookie allows.
type cookieState uint8

const (
	cookieNone   cookieState = iota // no valid session of the kind asked
	cookieOK                        // a valid session; a write carries its CSRF token
	cookieNoCSRF                    // a valid session, but a write without its token
)

// consoleSession reads the request's session of kind want.
func (s *Server) consoleSession(ctx *fasthttp.RequestCtx, want string) (console.Session, string, bool) {
	sess, token, ok := s.openSession(ctx)
	if !ok || sess.Kind != want {
		return console.Session{}, "", false
	}
	return sess, token, true
}

// openSession reads the request's session, of either kind, if its cookie
// is valid and its key still the account's.
func (s *Server) openSession(ctx *fasthttp.RequestCtx) (console.Session, string, bool) {
	token := string(ctx.Request.Header.Cookie(console.CookieName))
	if token == "" {
		return console.Session{}, "", false
	}
	sess, err := s.sealer.Open(token, time.Now())
	if err != nil {
		return console.Session{}, "", false
	}
	switch sess.Kind {
	case console.KindAdmin:
		// The admin key is a setting, not a catalog entry: its hash is
		// compared directly (a new admin key also changes the sealer).
		if len(sess.KeyPrefix) != 16 || subtle.ConstantTimeCompare(sess.KeyPrefix, s.deps.AdminKeyHash[:16]) != 1 {
			return console.Session{}, "", false
		}
	case console.KindAffiliate:
		if !s.catalog.HoldsKey(model.Principal{Kind: model.KindAffiliate, ID: sess.ID}, sess.KeyPrefix) {
			return console.Session{}, "", false
		}
	default:
		return console.Session{}, "", false
	}
	if s.deps.SignedOut != nil {
		rctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		revoked, err := s.deps.SignedOut.SessionRevoked(rctx, sessionID(token))
		if err != nil {
			// Refused: a session that cannot be checked may have been
			// signed out.
			s.sampledLog.Warn().Err(err).Msg("console session refused: cannot check it was not signed out")
		}
		if revoked || err != nil {
			return console.Session{}, "", false
		}
	}
	return sess, token, true
}

// sessionID names a session in the signed-out list: a hash of its token,
// never the token itself.
func sessionID(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:16])
}

// cookieAuth is what the request's session of kind want allows: reads need
// only the cookie, writes its CSRF token as well.
func (s *Server) cookieAuth(ctx *fasthttp.RequestCtx, want string) (console.Session, cookieState) {
	sess, token, ok := s.consoleSession(ctx, want)
	if !ok {
		return sess, cookieNone
	}
	if !ctx.IsGet() && !ctx.IsHead() && !s.sealer.CheckCSRF(token, string(ctx.Request.Header.Peek(csrfHeader))) {
		return sess, cookieNoCSRF
	}
	return sess, cookieOK
}

// denyAdmin answers a request isAdmin refused: 403 for a console session
// whose write lacks its CSRF token, else 401.
func (s *Server) denyAdmin(ctx *fasthttp.RequestCtx) {
	if presentedKey(ctx, "X-Api-Key", "X-Eflow-API-Key") == "" {
		if _, state := s.cookieAuth(ctx, console.KindAdmin); state == cookieNoCSRF {
			envelopeError(ctx, fasthttp.StatusForbidden, "csrf_failed", msgCSRFFailed)
			return
		}
	}
	adminUnauthorized(ctx)
}

// sessionView is the answer of GET and POST /console/session.
type sessionView struct {
	Success   bool   `json:"success"`
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	CSRFToken string `json:"csrf_token"`
	ExpiresAt string `json:"expires_at"`
}

// adminSessionID is the id an admin session shows: the admin is not an
// account.
const adminSessionID = "admin"

// signIn trades a key for a session cookie: the admin key, or an active
// affiliate's key.
func (s *Server) signIn(ctx *fasthttp.RequestCtx) {
	consoleHeaders(ctx)
	if !s.sameOriginJSON(ctx) {
		return
	}
	if counts, ok := s.countRequest("signin:"+s.clientIP(ctx).String(), signInLimit); ok && counts[0].Exceeded() {
		ctx.Response.Header.Set("Retry-After", retryAfter(counts[0].Reset))
		envelopeError(ctx, fasthttp.StatusTooManyRequests, "rate_limited",
			fmt.Sprintf("Too many sign-in attempts from your address: at most %d per minute. Check the Retry-After header.", signInLimit.Limit))
		return
	}
	var in struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &in); err != nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_json", `The body must be a JSON object: {"key": "<admin or affiliate key>"}.`)
		return
	}
	key := strings.TrimSpace(in.Key)
	if key == "" {
		envelopeError(ctx, fasthttp.StatusBadRequest, "missing_key", "Enter the network admin key or an affiliate API key.")
		return
	}
	hash := sha256.Sum256([]byte(key))
	sess := console.Session{Expires: time.Now().Add(console.Lifetime).Unix(), KeyPrefix: hash[:16], Nonce: make([]byte, 8)}
	_, _ = rand.Read(sess.Nonce) // never fails (crypto/rand)
	var name string
	if subtle.ConstantTimeCompare(hash[:], s.deps.AdminKeyHash[:]) == 1 {
		sess.Kind, sess.ID, name = console.KindAdmin, adminSessionID, "Network admin"
	} else if id, ok := s.principal(key, model.KindAffiliate); ok && s.catalog.Affiliate(id) != nil {
		aff := s.catalog.Affiliate(id)
		if aff.Status != model.StatusActive {
			envelopeError(ctx, fasthttp.StatusForbidden, codeAccountInactive, inactiveMessage(aff.Status))
			return
		}
		sess.Kind, sess.ID, name = console.KindAffiliate, aff.ID, aff.Name
	} else {
		// Sampled: a key-guessing client would otherwise write the log.
		s.sampledLog.Info().Str("client", s.clientIP(ctx).String()).Msg("console sign-in refused: unknown key")
		envelopeError(ctx, fasthttp.StatusUnauthorized, "invalid_key", "That key is not the network admin key or an active affiliate's API key.")
		return
	}
	token := s.sealer.Seal(sess)
	s.setSessionCookie(ctx, token, console.Lifetime)
	writeJSON(ctx, fasthttp.StatusOK, s.viewSession(sess, token, name))
}

// sameOriginJSON refuses a sign-in a cross-site page could make (login
// CSRF: a form that signs the visitor into the attacker's account). A form
// can only send text/plain, urlencoded or multipart bodies, so the body
// must be application/json; and a browser says where a request comes
// from, so Sec-Fetch-Site must be same-origin when sent, else Origin must
// be this server's own (or CLICKRELAY_PUBLIC_URL's). A request with
// neither header is no browser's (curl, a script) and is accepted: it
// cannot carry a visitor's browser along. README, Web console.
func (s *Server) sameOriginJSON(ctx *fasthttp.RequestCtx) bool {
	if mt, _, _ := strings.Cut(string(ctx.Request.Header.ContentType()), ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
		envelopeError(ctx, fasthttp.StatusUnsupportedMediaType, "unsupported_media_type",
			"Sign in with a JSON body, Content-Type: application/json: {\"key\": \"<admin or affiliate key>\"}.")
		return false
	}
	site := string(ctx.Request.Header.Peek("Sec-Fetch-Site"))
	origin := string(ctx.Request.Header.Peek("Origin"))
	switch {
	case site != "":
		if site == "same-origin" {
			return true
		}
	case origin != "":
		if s.ownOrigin(ctx, origin) {
			return true
		}
	default:
		return true
	}
	s.sampledLog.Info().Str("client", s.clientIP(ctx).String()).Str("origin", origin).Str("sec_fetch_site", site).
		Msg("console sign-in refused: from another site")
	envelopeError(ctx, fasthttp.StatusForbidden, "cross_origin",
		"Sign in from the console's own page: a sign-in sent by another site is refused.")
	return false
}

// ownOrigin reports whether origin (scheme://host[:port]) is this
// server's: the scheme and Host the request reached, or PublicURL's.
func (s *Server) ownOrigin(ctx *fasthttp.RequestCtx, origin string) bool {
	scheme := "http://"
	if s.overTLS(ctx) {
		scheme = "https://"
	}
	if host := string(ctx.Host()); host != "" && strings.EqualFold(origin, scheme+host) {
		return true
	}
	if s.config.PublicURL == "" {
		return false
	}
	u, err := url.Parse(s.config.PublicURL)
	return err == nil && u.Host != "" && strings.EqualFold(origin, u.Scheme+"://"+u.Host)
}

// currentSession answers who is signed in, with the CSRF token the
// console's writes repeat.
func (s *Server) currentSession(ctx *fasthttp.RequestCtx) {
	consoleHeaders(ctx)
	if sess, token, ok := s.openSession(ctx); ok {
		switch sess.Kind {
		case console.KindAdmin:
			writeJSON(ctx, fasthttp.StatusOK, s.viewSession(sess, token, "Network admin"))
			return
		case console.KindAffiliate:
			if aff := s.catalog.Affiliate(sess.ID); aff != nil && aff.Status == model.StatusActive {
				writeJSON(ctx, fasthttp.StatusOK, s.viewSession(sess, token, aff.Name))
				return
			}
		}
	}
	envelopeError(ctx, fasthttp.StatusUnauthorized, "unauthorized", "Not signed in, or the session has ended: sign in again.")
}

// signOut ends the session: its token is refused by every process from
// now on (a copy of the cookie included), and the browser's cookie is
// cleared. Like every console write it must repeat the session's CSRF
// token; without a valid session it only clears the cookie.
func (s *Server) signOut(ctx *fasthttp.RequestCtx) {
	consoleHeaders(ctx)
	sess, token, ok := s.openSession(ctx)
	if ok && !s.sealer.CheckCSRF(token, string(ctx.Request.Header.Peek(csrfHeader))) {
		envelopeError(ctx, fasthttp.StatusForbidden, "csrf_failed", msgCSRFFailed)
		return
	}
	if ok && s.deps.SignedOut != nil {
		rctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.deps.SignedOut.RevokeSession(rctx, sessionID(token), time.Unix(sess.Expires, 0)); err != nil {
			s.log.Error().Err(err).Msg("console sign-out: the session could not be ended")
			envelopeError(ctx, fasthttp.StatusServiceUnavailable, "unavailable", "The session could not be ended; try signing out again.")
			return
		}
	}
	s.setSessionCookie(ctx, "", 0)
	writeJSON(ctx, fasthttp.StatusOK, map[string]bool{"success": true})
}

func (s *Server) viewSession(sess console.Session, token, name string) sessionView {
	return sessionView{Success: true, Kind: sess.Kind, ID: sess.ID, Name: name, CSRFToken: s.sealer.CSRFToken(token),
		ExpiresAt: time.Unix(sess.Expires, 0).UTC().Format(time.RFC3339)}
}

// setSessionCookie sets (or, with maxAge 0, clears) the session cookie.
func (s *Server) setSessionCookie(ctx *fasthttp.RequestCtx, token string, maxAge time.Duration) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(console.CookieName)
	c.SetValue(token)
	c.SetPath("/")
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	c.SetSecure(s.overTLS(ctx))
	if maxAge > 0 {
		c.SetMaxAge(int(maxAge / time.Second))
	} else {
		c.SetExpire(fasthttp.CookieExpireDelete)
	}
	ctx.Response.Header.SetCookie(c)
}
