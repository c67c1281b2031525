package vendors

import (
	"log/slog"
	"time"
)

// Env is what every adapter's New takes besides its own Config:
//
//	func New(cfg Config, env vendors.Env) (*Instance, error)
//
// The zero Env logs through slog.Default and reads time.Now.
type Env struct {
	Logger *slog.Logger
	Clock  func() time.Time
}

// WithDefaults fills what env leaves out; adapters call it, so the
// defaults live here alone.
func (env Env) WithDefaults() Env {
	if env.Logger == nil {
		env.Logger = slog.Default()
	}
	if env.Clock == nil {
		env.Clock = time.Now
	}
	return env
}
