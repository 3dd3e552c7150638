#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Turns benchmarks/perftest/run's CSV into a markdown table (or, with
--gnuplot, a gnuplot script drawing a PNG).

  report.py CSV MD
  report.py --gnuplot CSV PNG | gnuplot
"""
import csv
import sys


def load(path):
    rows = list(csv.DictReader(open(path)))
    kernel = rows[0]['kernel'] if rows else '?'
    bw = {}
    for r in rows:
        try:
            v = float(r['MBps'])
        except ValueError:
            v = None
        bw[(r['device'], r['test'], int(r['size']), r['mode'])] = v
    return kernel, bw


def devs(bw, prefix):
    return sorted({d for (d, _, _, _) in bw if d.startswith(prefix)})


def fmt(v):
    return 'fail' if v is None else ('%.1f' % v)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return '-'
    return '%.2f' % (a / b)


def markdown(csv_path, md_path):
    kernel, bw = load(csv_path)
    sodp = (devs(bw, 'sodp') or ['sodp0'])[0]
    rxe = (devs(bw, 'rxe') or ['rxe0'])[0]
    tests = sorted({t for (d, t, _, _) in bw if d != 'memcpy'})
    sizes = sorted({s for (_, _, s, _) in bw})
    out = ['# perftest RC bandwidth, kernel %s' % kernel, '',
           'One guest under qemu TCG, server and client in the guest '
           '(loopback). MB/s with MB = 2^20 bytes, perftest "BW average". '
           'memcpy: the guest CPU copying the same message size. '
           'Figures under TCG compare with each other, never with hardware.',
           '',
           '| test | size | memcpy | %s pinned | %s ODP | %s pinned | %s ODP '
           '| %s/%s pinned | %s/%s ODP | %s/memcpy | %s ODP/pinned '
           '| %s ODP/pinned |' % (sodp, sodp, rxe, rxe, sodp, rxe, sodp, rxe,
                                  sodp, sodp, rxe),
           '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|']
    for t in tests:
        for s in sizes:
            m = bw.get(('memcpy', 'memcpy', s, 'cpu'))
            sp = bw.get((sodp, t, s, 'pinned'))
            so = bw.get((sodp, t, s, 'odp'))
            rp = bw.get((rxe, t, s, 'pinned'))
            ro = bw.get((rxe, t, s, 'odp'))
            out.append('| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | '
                       '%s | %s |' % (t, s, fmt(m), fmt(sp), fmt(so), fmt(rp),
                                      fmt(ro), ratio(sp, rp), ratio(so, ro),
                                      ratio(sp, m), ratio(so, sp),
                                      ratio(ro, rp)))
    out.append('')
    open(md_path, 'w').write('\n'.join(out))


def gnuplot(csv_path, png_path):
    kernel, bw = load(csv_path)
    tests = sorted({t for (d, t, _, _) in bw if d != 'memcpy'})
    # A series with no number at all (rxe --odp on 6.12) cannot be drawn.
    series = [(d, m) for d in devs(bw, 'sodp') + devs(bw, 'rxe')
              for m in ('pinned', 'odp')
              if any(bw.get((d, t, s, m)) is not None
                     for (_, t, s, _) in bw)]
    sizes = sorted({s for (_, _, s, _) in bw})
    print('set terminal pngcairo size 1200,600 noenhanced')
    print('set output "%s"' % png_path)
    print('set title "perftest RC bandwidth (MB/s, log scale), kernel %s, '
          'qemu TCG loopback"' % kernel)
    print('set style data histogram')
    print('set style histogram cluster gap 1')
    print('set style fill solid border -1')
    print('set logscale y')
    print('set xtics rotate by -30')
    print('set key outside right')
    print('$data << EOD')
    print('x memcpy ' + ' '.join('%s_%s' % s for s in series))
    for t in tests:
        for s in sizes:
            vals = [bw.get(('memcpy', 'memcpy', s, 'cpu'))]
            vals += [bw.get((d, t, s, m)) for (d, m) in series]
            print('%s/%d ' % (t, s) +
                  ' '.join('NaN' if v is None else '%g' % v for v in vals))
    print('EOD')
    print('plot for [i=2:%d] $data using i:xtic(1) title columnhead'
          % (len(series) + 2))


if __name__ == '__main__':
    if sys.argv[1] == '--gnuplot':
        gnuplot(sys.argv[2], sys.argv[3])
    else:
        markdown(sys.argv[1], sys.argv[2])
