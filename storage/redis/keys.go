package redis

import "github.com/clickrelay/clickrelay/model"

// keys names everything clickrelay keeps in Redis. Every name starts with
// the configured prefix.
//
// On a Redis Cluster, what one Lua script or MULTI touches must live in one
// hash slot, so some names carry a hash tag there ({...}: only the part
// between the braces picks the slot):
//
//	click:{id}, testclick:{id}       a click with its test session's token
//	claim:{advertiser}:scope:id      a conversion's dedupe claims
//	pb:{q}:retry, pb:{q}:dead:P,     the retry queue and every postback's
//	pb:{q}:deadjob:P, pb:{q}:fails:P dead letter (a re-drive moves between
//	                                 them in one script)
//	rate:{subject}:window:n          a subject's rate limit windows (tagged
//	                                 on one Redis too)
//
// On one Redis the names are unchanged (no tags), so an existing Redis's
// clicks, claims and queues are found after an upgrade. Every other key is
// read or written alone and goes wherever its name hashes.
type keys struct {
	prefix  string
	cluster bool
}

// tagged returns s as a hash tag on a Redis Cluster, or as is on one Redis.
func (k keys) tagged(s string) string {
	if k.cluster {
		return "{" + s + "}"
	}
	return s
}

// slot is a name segment that only a Redis Cluster needs: tag as a hash
// tag and a colon there, nothing on one Redis.
func (k keys) slot(tag string) string {
	if k.cluster {
		return "{" + tag + "}:"
	}
	return ""
}

func (k keys) sequence(kind model.Kind) string { return k.prefix + "seq:" + string(kind) }
func (k keys) entities(kind model.Kind) string { return k.prefix + "ent:" + string(kind) }
func (k keys) apiKeys() string                 { return k.prefix + "apikeys" }
func (k keys) invalidations() string           { return k.prefix + "invalidate" }
func (k keys) secret(name string) string       { return k.prefix + "secret:" + name }
func (k keys) click(id string) string          { return k.prefix + "click:" + k.tagged(id) }

// claim is a dedupe claim; group (the conversion's advertiser) is its hash
// tag on a Redis Cluster, shared by every claim one conversion takes.
func (k keys) claim(group, scope, id string) string {
	return k.prefix + "claim:" + k.slot(group) + scope + ":" + id
}

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

// revokedSession marks a console session signed out before its expiry.
func (k keys) revokedSession(id string) string { return k.prefix + "signedout:" + id }
func (k keys) testClick(clickID string) string { return k.prefix + "testclick:" + k.tagged(clickID) }

// postbackQueue starts the names of the retry queue and the dead letters,
// which one Cluster slot holds together.
func (k keys) postbackQueue() string { return k.prefix + "pb:" + k.slot("q") }
func (k keys) retryQueue() string    { return k.postbackQueue() + "retry" }
func (k keys) delivered(conversion, postback, event string) string {
	return k.prefix + "pb:done:" + conversion + ":" + postback + ":" + event
}
