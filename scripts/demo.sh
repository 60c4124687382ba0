#!/usr/bin/env bash
# The demo study end to end on the embedded default (SQLite + ZeroMQ profile 'aloxide'):
# install, set up profile/computer/code, run the demo protocol, write the summary to demo-output/.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
aiida-aloxide setup
aiida-aloxide demo --output demo-output "$@"
