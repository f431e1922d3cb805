"""`unveil watch`: the headless camera loop (source -> fer_core.live tracker -> JSON Lines and MQTT).

Modules: source (camera, stream or file, reopened with backoff), loop (the loop itself), records (the
JSON lines), mqtt (Home Assistant), household (names from the family store, audit counts). The CLI
is unveil.cli.watch. Kept free of heavy imports, so `unveil --help` can read the defaults below.
"""

# This camera's name in MQTT topics and Home Assistant sensor ids.
DEFAULT_NODE = "unveil"
# The MQTT password is read from this variable, never from the command line (where `ps` shows it).
MQTT_PASSWORD_ENV = "UNVEIL_MQTT_PASSWORD"
# --source may come from this variable instead: a stream address with a password on the command line
# is in /proc/PID/cmdline, which every user of the machine can read while the loop runs.
SOURCE_ENV = "UNVEIL_WATCH_SOURCE"
