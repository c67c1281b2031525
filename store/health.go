package store

// Health is what a probe of an engine found: the schema version the
// database is at and the newest one this build knows. A probe also proves
// that the database takes a write.
type Health struct {
	Version, Latest int
}
