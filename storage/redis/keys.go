package redis

import "github.com/clickrelay/clickrelay/model"

// keys names everything clickrelay keeps in Redis. Every name starts with
// the configured prefix.
type keys struct{ prefix string }

func (k keys) sequence(kind model.Kind) string { return k.prefix + "seq:" + string(kind) }
func (k keys) entities(kind model.Kind) string { return k.prefix + "ent:" + string(kind) }
func (k keys) apiKeys() string                 { return k.prefix + "apikeys" }
func (k keys) invalidations() string           { return k.prefix + "invalidate" }
func (k keys) secret(name string) string       { return k.prefix + "secret:" + name }
func (k keys) click(id string) string          { return k.prefix + "click:" + id }
func (k keys) claim(scope, id string) string   { return k.prefix + "claim:" + scope + ":" + id }

func (k keys) lock(name string) string { return k.prefix + "lock:" + name }

// rate is a rate limit counter; the subject is a hash tag, so one
// subject's windows, counted in one script, share a Redis Cluster slot.
func (k keys) rate(subject, window, n string) string {
	return k.prefix + "rate:{" + subject + "}:" + window + ":" + n
}
func (k keys) unique(offer, visitor string) string {
	return k.prefix + "uniq:" + offer + ":" + visitor
}

// A test session (seed 002) by its token, and the token by its test click.
func (k keys) testSession(token string) string { return k.prefix + "testsess:" + token }
func (k keys) testClick(clickID string) string { return k.prefix + "testclick:" + clickID }
func (k keys) retryQueue() string              { return k.prefix + "pb:retry" }
func (k keys) delivered(conversion, postback, event string) string {
	return k.prefix + "pb:done:" + conversion + ":" + postback + ":" + event
}
