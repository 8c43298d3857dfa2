#!/bin/sh
# BASH_ENV for `bash <master>`: POSIX mode and every command traced as "+si <file>:<line>: <command>".

# Read once: the master's children (bash scripts it runs) must not trace into the install log.
unset BASH_ENV
# dash would die on `set -o posix`; only bash reads BASH_ENV, so any other shell stops here.
[ -n "${BASH_VERSION:-}" ] || return 0
# Bash ignores PS4 from the environment when run as root, so it is set here.
PS4='+si ${BASH_SOURCE##*/}:$LINENO: '
set -o posix
set -x
