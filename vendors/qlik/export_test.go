package qlik

import "time"

// Test hooks: the clock, and the helpers whose rules are tested one by one.
var (
	EscapeSegment         = escapeSegment
	NormalizeVirtualProxy = normalizeVirtualProxy
	HostPort              = hostPort
	NewXrfkey             = newXrfkey
)

// SetClock replaces the instance's clock, for discovery's TTL.
func SetClock(in *Instance, now func() time.Time) { in.now = now }

// Waiting counts the operations waiting for a slot.
func Waiting(in *Instance) int { return in.slots.Waiting() }

// FreeSlots counts the slots no operation holds.
func FreeSlots(in *Instance) int { return in.slots.Free() }
