package model

// Journal kinds besides the entity kinds: API keys (by the hex SHA-256 of
// the key, the body the Principal's JSON) and the network's generated
// secrets (by name, the body the raw secret).
const (
	JournalAPIKey = "apikey"
	JournalSecret = "secret"
)

// JournalRecord is one write of the network's configuration, as kept in
// the durable journal that Redis is rebuilt from. The record with the
// highest Version of a (Kind, ID) is the one in force; Deleted says the
// thing no longer exists.
type JournalRecord struct {
	// Kind is an entity Kind, JournalAPIKey or JournalSecret.
	Kind string
	// ID is the entity's ID, the key's hash in hex, or the secret's name.
	ID string
	// Version orders the writes of one (Kind, ID): Unix nanoseconds of the
	// write.
	Version uint64
	Deleted bool
	// Body is the entity's JSON, the key's Principal as JSON, or the secret.
	Body []byte
}
