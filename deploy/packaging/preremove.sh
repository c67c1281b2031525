#!/bin/sh
# Stop the bot before its binary goes away, on removal only (deb: "remove",
# rpm: 0 packages left), never on upgrade.
set -e
case "$1" in
  remove | 0)
    if [ -d /run/systemd/system ]; then
      systemctl disable --now sessionbot.service >/dev/null 2>&1 || true
    fi
    ;;
esac
