// Package model holds the nouns clickrelay moves around: the entities a
// network admin configures (advertisers, affiliates, offers, postbacks,
// postback endpoints) and the records the click and conversion paths emit
// (clicks, conversions, postback attempts). It does no I/O and imports only
// the standard library.
//
// An entity's JSON encoding is both its stored form in Redis and its shape in
// the admin API, so the two cannot drift apart. Secrets (API keys) are never
// part of an entity: only their SHA-256 is stored, next to the entity.
package model
