#!/bin/sh
# Tell systemd about the new or changed unit. The service is not enabled
# here: the config needs the Slack tokens first (see the README's Deploy).
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
  # An upgrade restarts a running bot on the new binary.
  if systemctl is-active --quiet sessionbot.service; then
    systemctl try-restart sessionbot.service || true
  fi
fi
