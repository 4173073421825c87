#!/usr/bin/env bash
# System packages that benchmarks/make_eval_set.py needs (Debian/Ubuntu, run as root).
#
# Test split (benchmarks/_work/eval):
# - asterisk-core-sounds-{en,es,fr,it,ru}-g722: professional IVR prompts, one voice talent per
#   language, 16 kHz G.722 (decoded with ffmpeg). Real human speech with speaker identity known
#   by construction.
# - asterisk-prompt-it-menardi-wav: a second, different Italian speaker, 8 kHz WAV (a naturally
#   narrow-band source).
# - asterisk-moh-opsound-g722: instrumental music-on-hold tracks (real music, no speech).
# - espeak-ng: extra synthetic speakers; ffmpeg: the G.722 decoder.
# Dev split (benchmarks/_work/eval-dev, `make_eval_set.py --split dev`; other people entirely):
# - asterisk-prompt-fr-armelle, asterisk-prompt-es-co: two more voice talents (French, Colombian
#   Spanish), GSM at 8 kHz (narrow-band; ffmpeg decodes them).
# - flite: the kal16, awb, rms and slt voices (CMU speakers), 16 kHz.
# - festival + festvox-{kdlpc16k,italp16k,itapc16k,czech-dita,suopuhe-lj,suopuhe-mv}: diphone
#   voices of six more real people (en m, it f, it m, cs f, fi f, fi m).
# - sox: the GSM codec that wide-band voices go through when mixed with the GSM ones.
# - klettres-data: KDE KLettres' letters and syllables, one volunteer per language (~20
#   languages), 44.1 kHz mono Ogg: the dev split's real wide-band voices.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    ffmpeg espeak-ng \
    asterisk-core-sounds-en-g722 asterisk-core-sounds-es-g722 asterisk-core-sounds-fr-g722 \
    asterisk-core-sounds-it-g722 asterisk-core-sounds-ru-g722 \
    asterisk-prompt-it-menardi-wav asterisk-moh-opsound-g722 \
    asterisk-prompt-fr-armelle asterisk-prompt-es-co flite sox \
    festival festvox-kdlpc16k festvox-italp16k festvox-itapc16k festvox-czech-dita \
    festvox-suopuhe-lj festvox-suopuhe-mv klettres-data
# False-alarm set (benchmarks/false_alarms.py, benchmarks/_work/fa/): voices neither split uses.
# - festival-{hi,te,mr} + festvox-{hi,te,mr}-nsk: Hindi, Telugu and Marathi diphone voices (the
#   language packages hold the phone sets the voices need).
# - festvox-ca-ona-hts (Catalan, HTS), festvox-czech-krb (a child), festvox-czech-machac,
#   festvox-ru (Russian clunits), festvox-kallpc16k, festvox-us-slt-hts (HTS).
# (open-jtalk has no HTS voice in Debian, so Japanese comes from espeak-ng only.)
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    festival-hi festival-te festival-mr festvox-hi-nsk festvox-te-nsk festvox-mr-nsk \
    festvox-ca-ona-hts festvox-czech-krb festvox-czech-machac festvox-ru festvox-kallpc16k \
    festvox-us-slt-hts
# No-speech recall set (benchmarks/no_speech_recall.py, benchmarks/_work/nospeech/): game music
# neither split uses, as tracker modules (.it/.s3m/.mod, decoded by ffmpeg's libopenmpt) and Ogg:
# pingus-data, freedroid-data, tecnoballz-data (2.4 MB), tomatoes-data (10 MB).
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    pingus-data freedroid-data tecnoballz-data tomatoes-data
# Held-out no-speech set (no_speech_recall.py --set heldout, benchmarks/_work/nospeech-heldout/):
# other games' music the detector was never tuned on, Ogg/MP3/WAV recordings and tracker
# modules: frozen-bubble-data (22 MB), extremetuxracer-data (41 MB), hex-a-hop-data (9 MB),
# powermanga-data (10 MB), mu-cade-data and a7xpg-data (5 + 3.5 MB), chromium-bsu-data (1.2 MB),
# pangzero (3 MB, one MP3), open-invaders-data (2.5 MB, .mod), ceferino-data (2 MB, one .xm).
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    frozen-bubble-data extremetuxracer-data hex-a-hop-data powermanga-data mu-cade-data \
    a7xpg-data chromium-bsu-data pangzero open-invaders-data ceferino-data
# Second held-out no-speech set (no_speech_recall.py --set heldout2, _work/nospeech-heldout2/):
# ten more games' music, none in the sets above: abe-data (4 MB, Ogg), biniax2-data (3.7 MB,
# .it), bumprace-data (4 MB, one Ogg), circuslinux-data (1.7 MB, .mod), criticalmass-data
# (3.4 MB, one .xm), cuyo-data (5.6 MB, one .it), holotz-castle-data (7.7 MB, WAV),
# titanion-data and torus-trooper-data (5 + 5.6 MB, Ogg), toppler (2 MB, one Ogg).
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    abe-data biniax2-data bumprace-data circuslinux-data criticalmass-data cuyo-data \
    holotz-castle-data titanion-data toppler torus-trooper-data
# Third held-out no-speech set (no_speech_recall.py --set heldout3, _work/nospeech-heldout3/):
# nine more games' music: asc-music (10 MB, MP3), blobwars-data (74 MB, Ogg), drascula-music
# (36 MB, Ogg), hyperrogue-music (64 MB, Ogg), lincity-ng-data (57 MB, Ogg), neverball-data
# (86 MB, Ogg), solarwolf (2.7 MB, .xm and Ogg), warzone2100-music (86 MB, Opus), xmoto-data
# (63 MB, Ogg).
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    asc-music blobwars-data drascula-music hyperrogue-music lincity-ng-data neverball-data \
    solarwolf warzone2100-music xmoto-data
# Fourth held-out no-speech set (no_speech_recall.py --set heldout4, _work/nospeech-heldout4/;
# listed in the tenth session and not yet run): enigma-data (40 MB, Ogg), monsterz-data
# (1.6 MB, one .s3m), njam-data (3.7 MB, .xm/.s3m), pachi-data (16 MB, .s3m), spacezero
# (5.6 MB, one WAV), starfighter-data (46 MB, Ogg), zaz-data (21 MB, Ogg).
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    enigma-data monsterz-data njam-data pachi-data spacezero starfighter-data zaz-data
