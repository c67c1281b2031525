// Package deploy holds what ships sessionbot (the Helm chart, the systemd
// unit, the image builds) and the tests that check them: the rendered
// manifests, the Dockerfile's rules and the unit's hardening.
package deploy
