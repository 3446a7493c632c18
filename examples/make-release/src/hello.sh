#!/bin/sh
# The sample package this example releases.
echo "hello from release $(cat "$(dirname "$0")/VERSION")"
