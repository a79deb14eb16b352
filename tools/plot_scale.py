#!/usr/bin/env python3
"""Draws time and peak RSS against file size for picklescope and CPython from the JSON
`tools/scale_bench.py` writes (needs matplotlib: `pip install matplotlib`).

    python3 tools/plot_scale.py bench-out/scale.json docs/scale.png
"""

import json
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

MIB = 1024 * 1024


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    rows = sorted(doc['rows'], key=lambda r: r['bytes'])
    mb = [r['bytes'] / 1e6 for r in rows]
    fig, (t_ax, m_ax) = plt.subplots(1, 2, figsize=(11, 4.4))
    for who, label, style in (('picklescope', 'picklescope report --json', 'o-'),
                              ('cpython', 'CPython pickle.load', 's--')):
        t_ax.plot(mb, [r[who]['wall'] for r in rows], style, label=label)
        m_ax.plot(mb, [r[who]['rss'] / MIB for r in rows], style, label=label)
    t_ax.plot(mb, [r['picklescope']['cpu'] for r in rows], 'o:', color='C0', alpha=0.5,
              markersize=3, label='picklescope CPU time (both cores)')
    m_ax.plot(mb, [r['bytes'] / MIB for r in rows], ':', color='grey', label='file size')
    for ax, title, unit in ((t_ax, 'Wall time, whole process', 'seconds'),
                            (m_ax, 'Peak RSS', 'MiB')):
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel('object-heavy pickle (MB)')
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which='both', alpha=0.3)
        ax.legend()
    for r, x in zip(rows, mb):
        ratio = r['cpython']['wall'] / r['picklescope']['wall']
        t_ax.annotate('%.1fx' % ratio, (x, r['picklescope']['wall']), textcoords='offset points',
                      xytext=(0, -14), ha='center', fontsize=8)
    # Room under the lowest point for its ratio.
    t_ax.set_ylim(bottom=min(r['picklescope']['wall'] for r in rows) / 2.5)
    meta = doc.get('meta', {})
    fig.suptitle('Object-heavy pickles (gen_fixtures.py objheavy): %s, load %.1f'
                 % (meta.get('machine', ''), meta.get('load_before', float('nan'))), fontsize=9)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == '__main__':
    main()
