#!/bin/sh
# deb postinst / rpm %post: install or upgrade hearthd with the app's own install script.
# A package must not fail to install because the helper could not start (no systemd in a
# container, say): then the app's "Install helper" button explains and retries.
#
# This file replaces electron-builder's own after-install template, so nothing of electron-builder
# puts a link into /usr/bin: the app is started from its menu entry (/opt/Hearth/hearth-app), and
# /usr/bin/hearth is the command line, a link to /usr/lib/hearth/hearth that the install script
# installs. The link is made even when the helper could not be installed now, so the package always
# provides the command; "Install helper" puts the file it points at. before-remove.sh removes it.
script=/opt/Hearth/resources/hearth-helper/hearth-install.sh
if ! /bin/bash "$script" install; then
  echo "Hearth: the helper (hearthd) was not installed now; open Hearth and click \"Install helper\"." >&2
fi
/bin/bash "$script" link-cli --link /usr/bin/hearth ||
  echo "Hearth: /usr/bin/hearth was not linked to the hearth command (see above)." >&2

# The rest of what electron-builder's template would do for Electron itself, in our own words.
# Chromium's sandbox needs unprivileged user namespaces or a setuid helper; Ubuntu 24.04 and later
# allow user namespaces only to programs with an AppArmor profile, which the package ships as
# resources/apparmor-profile (for /opt/Hearth/hearth-app; electron-builder's after-remove deletes it).
app=/opt/Hearth
if [ -L /proc/self/ns/user ] && unshare --user true 2>/dev/null; then
  chmod 0755 "$app/chrome-sandbox" 2>/dev/null || true
else
  chmod 4755 "$app/chrome-sandbox" 2>/dev/null || true
fi
profile=$app/resources/apparmor-profile
if [ -f "$profile" ] && apparmor_status --enabled >/dev/null 2>&1 &&
  apparmor_parser --skip-kernel-load --debug "$profile" >/dev/null 2>&1; then
  cp -f "$profile" /etc/apparmor.d/hearth-app
  if ! { [ -x /usr/bin/ischroot ] && /usr/bin/ischroot; }; then
    apparmor_parser --replace --write-cache --skip-read-cache /etc/apparmor.d/hearth-app || true
  fi
fi
update-desktop-database /usr/share/applications >/dev/null 2>&1 || true
exit 0
