#!/usr/bin/env bash
# System packages that benchmarks/make_eval_set.py needs (Debian/Ubuntu, run as root).
#
# - asterisk-core-sounds-{en,es,fr,it,ru}-g722: professional IVR prompts, one voice talent per
#   language, 16 kHz G.722 (decoded with ffmpeg). Real human speech with speaker identity known
#   by construction.
# - asterisk-prompt-it-menardi-wav: a second, different Italian speaker, 8 kHz WAV (a naturally
#   narrow-band source).
# - asterisk-moh-opsound-g722: instrumental music-on-hold tracks (real music, no speech).
# - espeak-ng: extra synthetic speakers; ffmpeg: the G.722 decoder.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    ffmpeg espeak-ng \
    asterisk-core-sounds-en-g722 asterisk-core-sounds-es-g722 asterisk-core-sounds-fr-g722 \
    asterisk-core-sounds-it-g722 asterisk-core-sounds-ru-g722 \
    asterisk-prompt-it-menardi-wav asterisk-moh-opsound-g722
