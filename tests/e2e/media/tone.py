#!/usr/bin/env python3
"""Is a tone in a WAV file?  tests/e2e/test_media_baresip.sh checks what one baresip recorded.

  tone.py FILE FREQ [--other HZ] [--min-seconds S]

Cuts the 16-bit PCM file (first channel) into 100 ms blocks and measures each with a
Goertzel filter: the share of the block's energy at FREQ (1.0 for a pure tone, about
2/N for noise or silence).  A block "has the tone" when it is not silent and that share
is above 0.5.  Prints the counts; exit 0 only when at least --min-seconds of blocks have
the tone, and none has more energy at --other (the far side's own sine) than at FREQ.
"""
import argparse
import math
import struct
import sys
import wave


def goertzel_share(block, freq, rate):
    """Share of the block's energy at freq: 2|X(f)|^2 / (N * sum x^2)."""
    n = len(block)
    w = 2.0 * math.pi * freq / rate
    coeff = 2.0 * math.cos(w)
    s1 = s2 = 0.0
    for x in block:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    energy = sum(x * x for x in block)
    return 2.0 * power / (n * energy) if energy else 0.0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file")
    p.add_argument("freq", type=float)
    p.add_argument("--other", type=float)
    p.add_argument("--min-seconds", type=float, default=1.0)
    a = p.parse_args()
    with wave.open(a.file, "rb") as w:
        if w.getsampwidth() != 2:
            sys.exit("FAIL: %s: %d-byte samples, expected 16-bit PCM" % (a.file, w.getsampwidth()))
        rate, ch, frames = w.getframerate(), w.getnchannels(), w.readframes(w.getnframes())
    samples = struct.unpack("<%dh" % (len(frames) // 2), frames)[::ch]
    size = rate // 10
    blocks = [samples[i:i + size] for i in range(0, len(samples) - size + 1, size)]
    tone = silent = other = 0
    for b in blocks:
        rms = math.sqrt(sum(x * x for x in b) / len(b))
        if rms < 100:  # about -50 dBFS: nothing there
            silent += 1
            continue
        share = goertzel_share(b, a.freq, rate)
        if share > 0.5:
            tone += 1
        if a.other and goertzel_share(b, a.other, rate) > share:
            other += 1
    secs = len(samples) / rate
    print("%s: %.1f s at %d Hz, %d blocks of 100 ms: %d with %g Hz, %d silent, %d louder at %s Hz"
          % (a.file, secs, rate, len(blocks), tone, a.freq, silent, other, a.other or "-"))
    if tone < a.min_seconds * 10:
        sys.exit("FAIL: %g Hz in only %.1f s of the recording (expected at least %.1f s)"
                 % (a.freq, tone / 10.0, a.min_seconds))
    if other:
        sys.exit("FAIL: %d blocks carry more %g Hz than %g Hz" % (other, a.other, a.freq))


if __name__ == "__main__":
    main()
