"""Certificates per second and peak memory: 1,000 bilingual PDFs in one process, one core.

    .venv/bin/python bench/certificates.py [--count 1000] [--out DIR]

Each certificate has its own holder name (Khmer, Latin, mixed, a few with Vietnamese
letters or emoji), code and verification URL; the wording, logo and three signatures are
those of one training, as in a real batch. The fonts are prepared once, before the clock
starts (reported as start-up). Goals: >= 50 certificates/s, peak RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from certificates.pdf.page import CertificateContent, Signature, render_certificate

SPEED_GOAL = 50.0
MEMORY_GOAL_MB = 300.0

KHMER_GIVEN = ["ស្រីពៅ", "សុភា", "ដារ៉ា", "វណ្ណៈ", "ចន្ទា", "សុខា", "រតនា", "ពិសី", "ក្សេមរា", "ស្រីល័ក្ខ"]
KHMER_FAMILY = ["ចាន់", "សុខ", "លឹម", "ហេង", "ម៉ៅ", "ព្រហ្ម", "កែវ", "ឈឹម"]
LATIN_GIVEN = [
    "Sreypov",
    "Sophea",
    "Dara",
    "Vannak",
    "Chanthy",
    "Sokha",
    "Ratana",
    "Piseth",
    "Alex",
]
LATIN_FAMILY = ["Chan", "Sok", "Lim", "Heng", "Mao", "Prum", "Keo", "Chhim", "Smith"]
UNUSUAL = ["Nguyễn Thị Hương", "Dara 🌈 Sok", "José Müller-Ørsted", "Trần Văn Đức"]


def _name(index: int) -> str:
    given, family = index % 9, (index // 9) % 8
    match index % 4:
        case 0:
            return f"{KHMER_FAMILY[family]} {KHMER_GIVEN[index % 10]}"
        case 1:
            return f"{LATIN_GIVEN[given]} {LATIN_FAMILY[family]}"
        case 2:
            return f"{KHMER_GIVEN[index % 10]} {LATIN_GIVEN[given]} {LATIN_FAMILY[family]}"
        case _:
            return UNUSUAL[index % 4] if index % 50 == 3 else f"{LATIN_GIVEN[given]} {index}"


def _png(size: tuple[int, int], *, scribble: bool) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if scribble:
        draw.line([(10 + i * 19, 60 + (i * 37 % 7 - 3) * 11) for i in range(20)], width=5)
    else:
        draw.ellipse((8, 8, size[0] - 8, size[1] - 8), fill=(19, 78, 94, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _content(index: int, logo: bytes, signature: bytes) -> CertificateContent:
    title_km = "កន្លែងសុវត្ថិភាព៖ កន្លែងធ្វើការដែលបើកចំហ"
    title_en = "Safe Spaces: Inclusive Workplaces"
    code = f"B{index:04d}-M9XW-4TRA"
    return CertificateContent(
        holder_name=_name(index),
        body_km=f"បានបញ្ចប់ដោយជោគជ័យនូវវគ្គបណ្តុះបណ្តាល «{title_km}»",
        body_en=f"has completed the training “{title_en}”",
        title_km=title_km,
        title_en=title_en,
        topic_km="សិក្ខាសាលា ព្រះរាជាណាចក្រ",
        topic_en="Workplace inclusion",
        dates_km="ថ្ងៃទី ១២–១៣ ខែមីនា ឆ្នាំ ២០២៦",
        dates_en="12–13 March 2026",
        place="Phnom Penh",
        organisation_km="មជ្ឈមណ្ឌលសិទ្ធិមនុស្ស",
        organisation_en="Sala Training Centre",
        code=code,
        verification_url=f"https://sala.example.org/verify/{code}",
        logo=logo,
        signatures=(
            Signature("Sok Dara", "Executive Director", signature),
            Signature("ចាន់ សុភា", "អ្នកគ្រប់គ្រងកម្មវិធី · Programme Manager"),
            Signature("Vannak Lim", "Facilitator", signature),
        ),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--out", type=Path, help="write every PDF into this folder")
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    logo, signature = _png((300, 300), scribble=False), _png((400, 120), scribble=True)

    started = time.perf_counter()
    render_certificate(_content(0, logo, signature))  # fonts instantiated and parsed
    startup = time.perf_counter() - started

    total_bytes = 0
    cpu_before = time.process_time()
    started = time.perf_counter()
    for index in range(args.count):
        pdf = render_certificate(_content(index, logo, signature))
        total_bytes += len(pdf)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{index:04d}.pdf").write_bytes(pdf)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before

    per_second = args.count / elapsed
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"start-up (fonts): {startup:.1f} s")
    print(f"{args.count} certificates in {elapsed:.2f} s wall, {cpu:.2f} s CPU")
    print(f"certificates/s: {per_second:.1f} (goal >= {SPEED_GOAL:.0f})")
    print(f"mean PDF size: {total_bytes / args.count / 1024:.0f} KB")
    print(f"peak RSS: {peak_rss_mb:.0f} MB (goal <= {MEMORY_GOAL_MB:.0f})")
    if cpu < 0.9 * elapsed:
        print(f"warning: the process had the CPU {cpu / elapsed:.0%} of the time (busy machine?)")
    speed = "PASS" if per_second >= SPEED_GOAL else "FAIL"
    memory = "PASS" if peak_rss_mb <= MEMORY_GOAL_MB else "FAIL"
    print(
        f"SUMMARY certificates={args.count} per_second={per_second:.1f} "
        f"peak_rss_mb={peak_rss_mb:.0f} speed={speed} memory={memory}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
