package main

// commit and date are set at build time with
// -ldflags "-X main.commit=... -X main.date=...", next to main.version.
var commit, date string
