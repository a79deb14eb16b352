#!/usr/bin/env python3
"""Generate pipeline-like pickles for picklescope's tests (standard library only).

    gen_fixtures.py small OUTDIR
        the small committed fixtures (tests/fixtures/): see README.md
    gen_fixtures.py context OUTDIR [--scale S] [--ms N] [--flavour numpy1|numpy2]
                                   [--protocol P] [--seed N]
        a whole pipeline run: OUTDIR/pipeline-20261124T101500.context and
        OUTDIR/pipeline-20261124T101500/saved_state/result-stage<N>.pickle (48 stages)
    gen_fixtures.py objheavy OUT.pickle [--mb 10]
        a hifa_flagdata-like result: ~10 MB, ~3 million opcodes of dicts/floats
    gen_fixtures.py instances OUT.pickle [--mb 10]
        a hif_makeimages-like result: instances whose dicts share their keys (memo GETs)
    gen_fixtures.py numpyheavy OUT.pickle [--mb 1024]
        a result-stage4-like pickle holding ~MB megabytes of arrays

numpy and the pipeline are NOT needed: fakes.py registers stand-in modules
whose classes pickle under the real dotted names (see fakes.py).  Output is
deterministic for a given seed.  Malicious fixtures are hand-assembled and
never loaded.
"""

import argparse
import collections
import copyreg
import datetime
import io
import json
import logging
import os
import pickle
import pickletools
import random
import struct
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakes  # noqa: E402
from fakes import new, get_dtype, ndarray  # noqa: E402

UTC = datetime.timezone.utc
CONTEXT_NAME = 'pipeline-20261124T101500'
OUTPUT_DIR = '/lustre/alma/pipeline/2026.1.00001.S/working'   # stale on purpose
PIPELINE_ROOT = '/opt/casa/lib/py/lib/python3.10/site-packages/pipeline/'

# procedure_hifa_calimage, 48 stages
STAGES = [
    'hifa_importdata', 'hifa_flagdata', 'hifa_fluxcalflag', 'hif_rawflagchans', 'hif_refant',
    'h_tsyscal', 'hifa_tsysflag', 'hifa_tsysflagcontamination', 'hifa_antpos', 'hifa_wvrgcalflag',
    'hif_lowgainflag', 'hif_setmodels', 'hifa_bandpassflag', 'hifa_bandpass', 'hifa_spwphaseup',
    'hifa_gfluxscaleflag', 'hifa_gfluxscale', 'hifa_timegaincal', 'hifa_renorm', 'hifa_targetflag',
    'hif_applycal', 'hif_makeimlist', 'hif_makeimages', 'hif_makeimlist', 'hif_makeimages',
    'hifa_imageprecheck', 'hif_checkproductsize', 'hifa_exportdata', 'hif_mstransform',
    'hifa_flagtargets', 'hif_makeimlist', 'hif_findcont', 'hif_uvcontsub', 'hif_makeimages',
    'hif_makeimlist', 'hif_makeimages', 'hif_makeimlist', 'hif_makeimages', 'hif_selfcal',
    'hif_makeimlist', 'hif_makeimages', 'hif_makeimlist', 'hif_makeimages', 'hif_findcont',
    'hif_makeimlist', 'hif_makeimages', 'hif_makeimages', 'hifa_exportdata',
]
assert len(STAGES) == 48

# bytes per stage at --scale 1 with --ms 4 (shaped like the pipeline team's measurements:
# 1.24 GB total, 92.3 % in view/components; stage 4 1022 MB, stage 7 69 MB, ...)
STAGE_BYTES = {
    1: 2.0e6, 2: 11e6, 4: 1022e6, 7: 69e6, 10: 8e6, 11: 20e6, 13: 15e6, 14: 55e6, 16: 10e6,
    17: 0.3e6, 18: 1.0e6, 21: 2.0e6, 22: 0.5e6, 24: 0.5e6, 31: 0.5e6, 35: 0.5e6, 37: 0.5e6,
    40: 0.5e6, 42: 0.5e6, 45: 15e6, 23: 0.3e6, 25: 0.3e6, 34: 0.3e6, 36: 0.3e6, 38: 0.3e6,
    41: 0.3e6, 43: 0.3e6, 46: 0.3e6, 47: 0.3e6,
}
CONTEXT_BYTES = 1.5e6

# --------------------------------------------------------------------------
# deterministic data

_T_TOP = bytes(0x3f if i < 128 else 0x40 for i in range(256))        # |x| in ~[3e-5, 65536)
_T_FLAG = {pct: bytes(1 if i < round(2.56 * pct) else 0 for i in range(256)) for pct in (1, 5, 30)}
_T_REASON = bytes((i % 10) + 1 if i < 20 else 0 for i in range(256))


def rand_f8(rng, n):
    buf = bytearray(rng.randbytes(8 * n))
    if n:
        buf[7::8] = rng.randbytes(n).translate(_T_TOP)
    return buf


def rand_bool(rng, n, pct=5):
    return bytearray(rng.randbytes(n).translate(_T_FLAG[pct]))


def rand_reason(rng, n):
    buf = bytearray(8 * n)
    if n:
        buf[0::8] = rng.randbytes(n).translate(_T_REASON)
    return buf


def f8_array(rng, shape):
    n = 1
    for d in shape:
        n *= d
    return ndarray(get_dtype('f8'), shape, rand_f8(rng, n))


def fresh(s):
    """A new str object equal to s (CASA/C++-produced strings are never shared)."""
    return s[:1] + s[1:] if len(s) > 1 else s


# --------------------------------------------------------------------------
# generation context


class Gen:
    def __init__(self, seed=1, scale=1.0, n_ms=4, flavour='numpy1', protocol=5):
        self.rng = random.Random(seed)
        self.scale = scale
        self.n_ms = n_ms
        self.flavour = flavour
        self.protocol = protocol
        self.vis = ['uid___A002_X1_X%d.ms' % (2 + i) for i in range(n_ms)]
        self.t0 = datetime.datetime(2026, 11, 24, 10, 15, 0, tzinfo=UTC)
        self.clock = self.t0
        self.transient = collections.Counter()   # stage -> array bytes in view/components
        self.stage = 0
        fakes.set_flavour(flavour)

    def uuid(self):
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def budget(self, stage, per_ms=True):
        total = STAGE_BYTES.get(stage, 0) * self.scale * self.n_ms / 4
        return total / self.n_ms if per_ms else total

    def tick(self, seconds):
        start = self.clock
        self.clock = start + datetime.timedelta(seconds=seconds, microseconds=self.rng.randrange(10**6))
        return start, self.clock


# --------------------------------------------------------------------------
# common result parts


def make_selection(g, vis=None, spw=None, intent=None, ant=None):
    return new(fakes.TargetDataSelection,
               session=set(), vis={vis} if vis else set(), scan=set(),
               spw=set(spw or ()), field=set(), intent={intent} if intent else set(),
               ant=set(ant or ()), pol=set())


def make_qa(g, vis=None, n=2, hierarchy=''):
    pool = []
    for i in range(n):
        score = round(g.rng.uniform(0.3, 1.0), 3)
        origin = fakes.NULL_ORIGIN if i % 2 == 0 else fakes.QAOrigin(
            metric_name='fraction_flagged', metric_score=round(g.rng.random(), 4), metric_units='')
        pool.append(new(fakes.QAScore,
                        score=score,
                        longmsg='%.1f%% of data flagged in %s' % (100 * (1 - score), vis or 'all MSes'),
                        shortmsg='Flagging %s' % ('OK' if score > 0.66 else 'warning'),
                        applies_to=make_selection(g, vis=vis, spw=[17, 19][: i + 1]),
                        origin=origin,
                        weblog_location=(fakes.WebLogLocation.UNSET, fakes.WebLogLocation.BANNER,
                                         fakes.WebLogLocation.ACCORDION)[i % 3],
                        hierarchy=hierarchy))
    return new(fakes.QAScorePool, pool=pool, _representative=None)


def results_base(g, cls, qa_vis=None, nqa=2, **task_attrs):
    obj = new(cls, _uuid=g.uuid(), qa=make_qa(g, qa_vis, nqa), _metadata={})
    obj.__dict__.update(task_attrs)
    return obj


def make_logrecords(g, taskname, n):
    recs = []
    module = 'pipeline.' + fakes.TASKS[taskname][0].rpartition('.')[0]
    for i in range(n):
        level = (logging.WARNING, logging.INFO, logging.ERROR)[i % 3]
        r = logging.LogRecord(module, level, PIPELINE_ROOT + module[9:].replace('.', '/') + '.py',
                              100 + 17 * i, '%s: %d outliers in %s', (taskname, i + 1, 'spw 17'),
                              None, 'prepare')
        created = g.clock.timestamp() + i * 0.25
        r.created = created
        r.msecs = (created - int(created)) * 1000
        r.relativeCreated = 1234567.0 + i
        r.thread = 140171234567936
        r.threadName = 'MainThread'
        r.processName = 'MainProcess'
        r.process = 31337
        recs.append(r)
    return recs


def finalize(g, obj, taskname, stage, vis, top, nlog=1, duration=30):
    """Attributes the task framework adds after prepare()/analyse(), in order."""
    d = obj.__dict__
    if not isinstance(obj, fakes.ResultsList):
        d['task'] = fakes.TASK_CLASSES[taskname]
        d['logrecords'] = make_logrecords(g, taskname, nlog)
    vislist = list(g.vis) if isinstance(vis, list) or vis is None else [vis]
    d['inputs'] = {'vis': vislist if top else vis, 'output_dir': OUTPUT_DIR,
                   'acceptresults': True, 'dryrun': False}
    d['stage_number'] = stage
    if top:
        d['pipeline_casa_task'] = '%s(vis=%r)' % (taskname, vislist)
    d['timestamps'] = fakes.Timestamps(*g.tick(duration))
    return obj


def results_list(g, items, taskname, stage):
    rl = new(fakes.ResultsList, _uuid=g.uuid(), qa=make_qa(g, None, 1), _metadata={},
             _ResultsList__results=items)
    return finalize(g, rl, taskname, stage, None, top=True)


FLAG_REASON_KEY = {1: 'max abs', 2: 'min abs', 3: 'nmedian', 4: 'outlier', 5: 'high outlier',
                   6: 'low outlier', 7: 'too many flags', 8: 'bad quadrant', 9: 'bad antenna',
                   10: 'too many entirely flagged'}


def make_axis(g, name, units, values, width=None):
    data = fakes.array_from_values('f8', values) if name != 'Baseline' else \
        fakes.array_from_values('i8', values)
    if width is None:
        width = (values[1] - values[0]) if len(values) > 1 else 0
    return new(fakes.ResultAxis, name=name, units=units, data=data, channel_width=width)


def image_result(g, vis, shape, axes, datatype, spw, pol=None, intent=None, ant=None,
                 flag_reason_key=None, field_id=None, time_=None, units=None, stats=None):
    n = shape[0] * shape[1]
    img = new(fakes.ImageResult,
              filename=vis,
              data=ndarray(get_dtype('f8'), shape, rand_f8(g.rng, n)),
              axes=axes,
              flag_reason_plane=ndarray(get_dtype('i8'), shape, rand_reason(g.rng, n)),
              flag_reason_key=flag_reason_key if flag_reason_key is not None else {},
              flag=ndarray(get_dtype('b1'), shape, rand_bool(g.rng, n, 5)),
              nodata=ndarray(get_dtype('b1'), shape, rand_bool(g.rng, n, 1)),
              datatype=datatype, field_id=field_id, _field_name=None, intent=intent,
              spw=spw, pol=pol, ant=ant, units=units, scan=None, time=time_, children={})
    if stats is not None:
        stats[0] += 18 * n
    return img


def plan_dims(elements, max_rows, min_cols=16):
    """(rows, cols) with rows*cols ~ elements, 2 <= rows <= max_rows, cols >= 1."""
    elements = max(int(elements), 2 * min_cols)
    rows = max(2, min(max_rows, elements // min_cols))
    return rows, max(1, elements // rows)


def plan_baselines(elements, max_ant=43, min_chan=16):
    """(n_ant, n_chan) for a (channels, n_ant**2) rawflagchans image of ~elements."""
    elements = max(int(elements), 4 * min_chan)
    nant = max(2, min(max_ant, int((elements / min_chan) ** 0.5)))
    return nant, max(1, elements // (nant * nant))


def flagcmds(g, vis, spws, n, channel_axis=None, rulename='outlier'):
    out = []
    for i in range(n):
        spw = spws[i % len(spws)]
        ant = g.rng.randrange(43)
        out.append(new(fakes.FlagCmd,
                       filename=vis, rulename=rulename, ruleaxis='Antenna2', spw=spw,
                       antenna=ant, intent='BANDPASS', pol=None, scan=None, time=None,
                       field=None, axisnames=['channels', 'Baseline'],
                       flagcoords=[g.rng.randrange(64), '%d&%d' % (ant, (ant + 5) % 43)],
                       channel_axis=channel_axis if (i == 0 and channel_axis is not None) else None,
                       reason='max abs', extendfields=None, antenna_id_to_name={},
                       start_time=None, end_time=None,
                       flagcmd="spw='%d:%d~%d' antenna='%d&%d' reason='max abs'"
                               % (spw, i, i + 2, ant, (ant + 5) % 43)))
    return out


# --------------------------------------------------------------------------
# view-heavy results


def rawflagchans_result(g, vis, budget, nspw=4, dims=None, with_flags=True, stats=None):
    """One RawflagchansResults: per (spw, correlation) an ImageResult of shape
    (channels, baselines), twice (first look and refined); the axes list of a spw
    is shared by its correlations and copies."""
    spws = [17, 19, 21, 23][:nspw] if nspw <= 4 else list(range(17, 17 + 2 * nspw, 2))
    n_img = nspw * 2 * 2
    if dims is None:
        nant, nchan = plan_baselines(budget / n_img / 18)
    else:
        nant, nchan = dims
    nbase = nant * nant
    view = collections.defaultdict(list)
    all_axes = {}
    for spw in spws:
        chans = [float(c) for c in range(nchan)]
        axes = [make_axis(g, 'channels', '', chans),
                make_axis(g, 'Baseline', '', [a * nant + b for a in range(nant) for b in range(nant)], 1)]
        all_axes[spw] = axes
    flagging = flagcmds(g, vis, spws, 3 + g.rng.randrange(4),
                        channel_axis=all_axes[spws[0]][0]) if with_flags else []
    shared_key = dict(FLAG_REASON_KEY)
    for spw in spws:
        axes = all_axes[spw]
        for pol in ('XX', 'YY'):
            desc = 'File:%s Intent:BANDPASS SpW:%d Pol:%s' % (vis, spw, pol)
            for copy in range(2):
                view[desc].append(image_result(
                    g, vis, (nchan, nbase), axes, 'Mean amplitude of corrected data', spw, pol,
                    'BANDPASS', flag_reason_key=shared_key if copy == 1 else None, stats=stats))
    summaries = [{'name': 'before', 'flagged': fakes.float64(g.rng.uniform(1e5, 1e6)),
                  'total': fakes.float64(2.5e7)},
                 {'name': 'after', 'flagged': fakes.float64(g.rng.uniform(1e6, 2e6)),
                  'total': fakes.float64(2.5e7)}]
    r = results_base(g, fakes.RawflagchansResults, vis, flagging=flagging, view=view, vis=vis,
                     summaries=summaries)
    return r


def generic_view_result(g, cls, vis, budget, datatype, nspw=4, rows_name='Antenna2',
                        cols_name='Time', stats=None, extra=None):
    spws = [17, 19, 21, 23][:nspw]
    n_img = nspw * 2
    nrows, ncols = plan_dims(budget / n_img / 18, 43)
    view = collections.defaultdict(list)
    shared_key = dict(FLAG_REASON_KEY)
    for spw in spws:
        axes = [make_axis(g, rows_name, '', [float(i) for i in range(nrows)], 1),
                make_axis(g, cols_name, 's', [4.9e9 + 6.048 * i for i in range(ncols)])]
        for pol in ('XX', 'YY'):
            desc = 'File:%s Intent:PHASE SpW:%d Pol:%s' % (vis, spw, pol)
            view[desc].append(image_result(g, vis, (nrows, ncols), axes, datatype, spw, pol,
                                           'PHASE', flag_reason_key=shared_key, stats=stats))
    attrs = dict(flagging=flagcmds(g, vis, spws, 2), view=view, vis=vis)
    if extra:
        attrs.update(extra)
    return results_base(g, cls, vis, **attrs)


def tsysflag_result(g, vis, budget, nspw=4, stats=None, stage=7):
    metrics = ['nmedian', 'derivative', 'edgechans', 'fieldshape', 'birdies', 'toomany']
    spws = [17, 19, 21, 23][:nspw]
    caltable = vis + '.h_tsyscal.s6_1.tsyscal.tbl'
    n_img = len(metrics) * nspw
    nrows, ncols = plan_dims(budget / n_img / 18, 43)
    ant_axes = {spw: [make_axis(g, 'Antenna', '', [float(i) for i in range(nrows)], 1),
                      make_axis(g, 'Time', 's', [4.9e9 + 30.0 * i for i in range(ncols)])]
                for spw in spws}
    components = collections.OrderedDict()
    shared_key = dict(FLAG_REASON_KEY)
    for metric in metrics:
        view = collections.defaultdict(list)
        for spw in spws:
            desc = 'File:%s Intent:ATMOSPHERE SpW:%d' % (caltable, spw)
            view[desc].append(image_result(g, caltable, (nrows, ncols), ant_axes[spw],
                                           'Tsys %s metric' % metric, spw, None, 'ATMOSPHERE',
                                           flag_reason_key=shared_key, stats=stats))
        comp = results_base(g, fakes.TsysflagspectraResults, vis, nqa=1,
                            flagging=flagcmds(g, caltable, spws, 1, rulename=metric), view=view,
                            vis=vis, caltable=caltable)
        finalize(g, comp, 'hifa_tsysflag', stage, vis, top=False, nlog=0, duration=5)
        components[metric] = comp
    return results_base(g, fakes.TsysflagResults, vis, vis=vis, caltable=caltable,
                        components=components, error=set(), metric_order=','.join(metrics),
                        summaries=[{'name': 'before', 'flagged': 0.0, 'total': 1.0e6},
                                   {'name': 'after', 'flagged': 1.2e4, 'total': 1.0e6}])


def wvrgcalflag_result(g, vis, budget, nspw=2, stats=None, stage=10):
    """WvrgcalflagResults -> flaggerresult (MatrixFlaggerResults with view, and
    viewresult whose view holds the *same* ImageResults) -> dataresult
    (WvrgcalResult with view and qa_wvr.view)."""
    spws = [17, 19, 21, 23][:nspw]
    third = budget / 3
    nrows, ncols = plan_dims(third / (nspw * 2) / 18, 43)
    shared_key = dict(FLAG_REASON_KEY)

    def views(datatype, count=True):
        v = collections.defaultdict(list)
        for spw in spws:
            axes = [make_axis(g, 'Antenna', '', [float(i) for i in range(nrows)], 1),
                    make_axis(g, 'Time', 's', [4.9e9 + 6.048 * i for i in range(ncols)])]
            desc = 'File:%s Intent:PHASE SpW:%d' % (vis, spw)
            for _ in range(2):
                v[desc].append(image_result(g, vis, (nrows, ncols), axes, datatype, spw, None,
                                            'PHASE', flag_reason_key=shared_key,
                                            stats=stats if count else None))
        return v

    data_view = views('WVR phase RMS improvement ratio')
    qa_view = views('WVR QA score', count=False)   # qa_wvr.view is not transient
    qa_wvr = new(fakes.QaResult, overall_score=0.87, view_score={}, view=qa_view, flagging=[],
                 spw='', bandpass_result=None, nowvr_result=None, qa_spw='17')
    caltable = vis + '.hifa_wvrgcalflag.s10_2.wvrcal.tbl'
    calfrom = fakes.CalFrom(caltable, '', 'nearest', (), 'wvr', False)
    calapp = new(fakes.CalApplication, calto=fakes.CalTo(vis), calfrom=[calfrom],
                 origin=[fakes.CalAppOrigin(task=fakes.TASK_CLASSES['hifa_wvrgcalflag'],
                                            inputs={'vis': vis, 'caltable': caltable})])
    dataresult = results_base(g, fakes.WvrgcalResult, vis, nqa=1,
                              vis=vis, pool=[calapp], final=[calapp], preceding=[], error=set(),
                              qa_wvr=qa_wvr, flagging=[], wvrflag=['DA45'], view=data_view,
                              tie='', PHnoisy=False, BPnoisy=False, suggest_remcloud=False)
    flagger_view = views('WVR phase RMS improvement ratio (flagging)')
    viewresult = new(fakes.QaResult, overall_score=None, view_score={},
                     view=collections.defaultdict(list, {k: [v[-1]] for k, v in flagger_view.items()}),
                     flagging=[], spw='')
    flaggerresult = results_base(g, fakes.MatrixFlaggerResults, vis, nqa=0,
                                 flagging=flagcmds(g, vis, spws, 2), view=flagger_view, vis=vis,
                                 dataresult=dataresult, viewresult=viewresult, table=vis,
                                 summaries=[{'name': 'before'}, {'name': 'after'}])
    return results_base(g, fakes.WvrgcalflagResults, vis, vis=vis, flaggerresult=flaggerresult,
                        too_few_wvr=False, too_few_wvr_post_flagging=False)


# --------------------------------------------------------------------------
# other big results


def bandpass_result(g, vis, budget, nspw=4, nant=43):
    """BandpassResults: `qa` is a dict here (the real class overwrites the
    QAScorePool), holding per-spw/antenna solution arrays that are NOT transient."""
    spws = [17, 19, 21, 23][:nspw]
    nchan = max(4, int(budget / (nspw * nant * 2 * 8)))
    qanumbers = {}
    for spw in spws:
        per = {}
        for a in range(nant):
            per['DA%02d' % (41 + a) if a < 30 else 'DV%02d' % (a - 29)] = {
                'AMPLITUDE_FIT': ndarray(get_dtype('f8'), (nchan,), rand_f8(g.rng, nchan)),
                'PHASE_FIT': ndarray(get_dtype('f8'), (nchan,), rand_f8(g.rng, nchan))}
        qanumbers['spw%d' % spw] = per
    caltable = vis + '.hifa_bandpass.s14_5.spw17_19_21_23.channel.solintinf.bcal.tbl'
    calfrom = fakes.CalFrom(caltable, '', 'linear,linearflag', (), 'bandpass', False)
    calto = fakes.CalTo(vis, '', '', '', '')
    calapp = new(fakes.CalApplication, calto=calto, calfrom=[calfrom],
                 origin=[fakes.CalAppOrigin(task=fakes.TASK_CLASSES['hifa_bandpass'],
                                            inputs={'vis': vis, 'caltable': caltable})])
    r = new(fakes.BandpassResults, _uuid=g.uuid(),
            qa={'QANUMBERS': qanumbers,
                'QASCORES': {'AMPLITUDE_SCORE_SNR': {s: g.rng.random() for s in spws}}},
            _metadata={}, pool=[calapp], final=[calapp], preceding=[], error=set(),
            applies_adopted=False, unregister_existing=False, bp_gaintable_for_phase_rms=[])
    return r


ANTENNAS = ['DA%02d' % (41 + a) for a in range(24)] + ['DV%02d' % (1 + a) for a in range(25)]


def flag_summaries(g, vis, budget, int_share=8):
    """CASA flagdata summaries: many small dicts of floats with fresh key strings,
    plus per-integration flag counts (small ints).  ~budget bytes in total."""
    names = ['before', 'anos', 'intents', 'qa0', 'qa2', 'online', 'template', 'autocorr',
             'edgespw', 'clip', 'partialpol', 'lowtrans', 'after']
    per = budget / len(names)
    cell_bytes = 47                                   # one {'flagged': f, 'total': f} entry
    ants, scans, spws = ANTENNAS[:43], list(range(1, 31)), list(range(48))
    fields = ['J1256-0547', 'J1337-1257', 'Titan', 'NGC_4945', 'J1427-4206']
    fixed = len(ants) + len(scans) + len(spws) + len(fields) + 5
    if per < 2 * fixed * cell_bytes:                  # small budget: shrink every section
        f = per / (2.0 * fixed * cell_bytes)
        ants, scans = ants[:max(2, int(43 * f))], scans[:max(1, int(30 * f))]
        spws, fields = spws[:max(1, int(48 * f))], fields[:max(1, int(5 * f))]
        fixed = len(ants) + len(scans) + len(spws) + len(fields) + 5
    nchan = max(0, int((per * (1 - 2.6 / int_share) / cell_bytes - fixed) / len(spws)))
    n_int = int(per / int_share)
    out = []
    rnd = g.rng.random
    for name in names:
        def cell():
            t = float(int(rnd() * 1e6) * 64)
            return {fresh('flagged'): float(int(t * rnd())), fresh('total'): t}
        s = {fresh('name'): fresh(name), fresh('type'): fresh('summary')}
        s[fresh('antenna')] = {fresh(a): cell() for a in ants}
        s[fresh('array')] = {fresh('ALMA'): cell()}
        s[fresh('correlation')] = {fresh(c): cell() for c in ('XX', 'YY', 'XY', 'YX')}
        s[fresh('field')] = {fresh(f): cell() for f in fields}
        s[fresh('scan')] = {str(i): cell() for i in scans}
        s[fresh('spw')] = {str(i): cell() for i in spws}
        s[fresh('spw:channel')] = {'%d:%d' % (w, c): cell() for w in spws for c in range(nchan)}
        # per-integration flag counts (small ints): BININT1/BININT2 runs
        s[fresh('flagged_per_integration')] = [int(rnd() * 300) for _ in range(n_int)]
        s[fresh('flagged')] = float(int(rnd() * 1e9))
        s[fresh('total')] = 2.0e9
        out.append(s)
    return out


def flagdata_result(g, vis, budget):
    return results_base(g, fakes.FlagDeterBaseResults, vis,
                        summaries=flag_summaries(g, vis, budget),
                        flagcmds=["mode='manual' antenna='DA4%d' reason='QA0'" % i for i in range(8)],
                        vis=vis, table=vis + '.flagversions')


def make_imlist_targets(g, budget):
    heur = new(fakes.ImageParamsHeuristicsALMA, vislist=list(g.vis), spwids={17, 19, 21, 23},
               proj_params={'desired_angular_resolution': '0.5arcsec'}, imaging_mode='ALMA',
               observing_run=None)
    targets = []
    n = max(2, int(budget / 900))
    fields = ['NGC_4945', 'Circinus', 'M83', 'NGC_253', 'Centaurus_A']
    for i in range(n):
        spw = (17, 19, 21, 23)[i % 4]
        f = fields[i % len(fields)]
        targets.append({
            'field': '"%s"' % f, 'intent': 'TARGET', 'spw': str(spw),
            'spwsel_lsrk': {'spw%d' % s: '%.3f~%.3fGHz LSRK' % (230 + g.rng.random(), 231 + g.rng.random())
                            for s in (17, 19, 21, 23)},
            'spwsel_all_cont': False, 'cell': ['0.08arcsec', '0.08arcsec'], 'imsize': [480, 480],
            'phasecenter': 'ICRS 13:05:27.4800 -049.28.05.600', 'psf_phasecenter': None,
            'specmode': 'cube', 'gridder': 'standard', 'deconvolver': 'hogbom', 'nterms': None,
            'start': '', 'width': '', 'nbin': -1, 'nchan': -1, 'robust': 0.5, 'uvrange': None,
            'uvtaper': [], 'stokes': 'I', 'heuristics': heur,
            'vis': list(g.vis),
            'antenna': ['%s,' % ','.join(str(a) for a in range(43)) for _ in g.vis],
            'is_per_eb': False, 'usepointing': False, 'mosweight': None, 'drcorrect': None,
            'datacolumn': 'corrected', 'datatype': 'REGCAL_CONTLINE_SCIENCE',
            'datatype_info': 'REGCAL_CONTLINE_SCIENCE', 'sensitivity': round(g.rng.random(), 6),
            'threshold': '%.4gJy' % g.rng.random(), 'reffreq': '%.6fGHz' % (230 + g.rng.random()),
            'restfreq': None, 'intent_list': ['TARGET'], 'imagename': 'oussid.s22_0.%s_sci.spw%d.cube' % (f, spw),
        })
    return targets


def makeimages_result(g, budget):
    n = max(1, int(budget / 1500))
    results = []
    for i in range(n):
        results.append(new(fakes.TcleanResult, _uuid=g.uuid(), qa=make_qa(g, None, 1), _metadata={},
                           vis=list(g.vis), sourcename='NGC_4945', intent='TARGET', spw='17',
                           specmode='cube', multiterm=None, plotdir=None,
                           imaging_mode='ALMA', iterations={0: {'image': 'img%d.image' % i,
                                                                'residual': 'img%d.residual' % i,
                                                                'model': 'img%d.model' % i,
                                                                'cleanmask': '', 'threshold': 0.0123,
                                                                'sensitivity': 0.004, 'niter': 0}},
                           image_min=-0.01, image_max=0.5, image_rms=0.002,
                           tclean_stopcode=1, tclean_stopreason='Reached global stopping criterion'))
    return results


def make_spectral_windows(g, nspw, nchan):
    spws = []
    for i in range(nspw):
        sw = fakes.SpectralWindow()
        vals = (i, 'ALMA_RB_06#BB_%d#SW-01#FULL_RES' % (1 + i % 4), 'FDM', 1.875e9,
                fakes.Frequency(230.5e9 + i * 2e9, units='Hz').value, 230.5e9 + i * 2e9 + 0.9e9,
                ndarray(get_dtype('f8'), (nchan,), rand_f8(g.rng, nchan)),
                {'BANDPASS', 'PHASE', 'TARGET'}, 1 + i % 4, 1, 'TSB', [2.26e11, 2.38e11],
                'ALMA Band 6', ['CO_v_0_2_1(ID=3768142)'], 1, 2)
        sw.__setstate__(vals)
        spws.append(sw)
    return spws


def make_ms(g, vis, budget):
    nspw = 16
    nchan = max(4, int(budget / nspw / 8))
    ants = []
    for i, name in enumerate(ANTENNAS[:43]):
        a = fakes.Antenna()
        a.id, a.name, a.station, a.diameter = i, name, 'A%03d' % (i * 3), 12.0
        if i % 2 == 0:
            a.position = {'m0': {'unit': 'rad', 'value': -1.18}, 'm1': {'unit': 'rad', 'value': -0.4},
                          'm2': {'unit': 'm', 'value': 6.37e6}}
        ants.append(a)
    fields = []
    for i, name in enumerate(('J1256-0547', 'J1337-1257', 'NGC_4945')):
        f = fakes.Field()
        f.id, f.name, f.source_id, f.time = i, name, i, [4.9e9, 4.9e9 + 600.0]
        f.intents = {'BANDPASS', 'FLUX'} if i == 0 else {'TARGET'}
        fields.append(f)
    return new(fakes.MeasurementSet, name=vis, basename=vis, session='session_1',
               antennas=ants, spectral_windows=make_spectral_windows(g, nspw, nchan),
               fields=fields, reference_antenna='DA41,DA43,DV02', intents={'BANDPASS', 'PHASE',
                                                                          'TARGET', 'ATMOSPHERE'},
               schedblock_id='uid://A002/X1/X1', execblock_id='uid://A002/X1/X%d' % 2,
               is_imaging_ms=False)


def generic_result(g, taskname, vis, budget):
    cls = fakes.RESULT_CLASSES[taskname]
    attrs = {'vis': vis}
    if taskname in ('h_tsyscal', 'hifa_timegaincal', 'hifa_spwphaseup', 'hifa_antpos',
                    'hifa_gfluxscale', 'hif_setmodels'):
        table = '%s.%s.tbl' % (vis, taskname)
        cf = fakes.CalFrom(table, '', 'linear', (), 'gaincal', False)
        # the same (flyweight) CalFrom appears in pool and final
        calapps = [new(fakes.CalApplication, calto=fakes.CalTo(vis, spw=str(s)), calfrom=[cf],
                       origin=[fakes.CalAppOrigin(task=fakes.TASK_CLASSES[taskname],
                                                  inputs={'vis': vis})]) for s in (17, 19)]
        attrs.update(pool=calapps, final=list(calapps), preceding=[], error=set())
    if budget > 0:
        n = int(budget / 30)
        attrs['measurements'] = {ANTENNAS[i % 43]: [(g.rng.random(), 'Jy', i) for i in range(n // 43 + 1)]
                                 for i in range(43)}
    if taskname == 'hif_applycal' and budget > 0:
        attrs = {'vis': vis, 'summaries': flag_summaries(g, vis, budget)}
    return results_base(g, cls, vis, **attrs)


def importdata_result(g, budget):
    mses = [make_ms(g, vis, budget / g.n_ms) for vis in g.vis]
    return results_base(g, fakes.ALMAImportDataResults, None, mses=mses, setjy_results=[],
                        origin={'uid___A002_X1_X%d' % (2 + i): 'asdm' for i in range(g.n_ms)},
                        fluxservice='FIRSTURL')


PER_MS = {'hifa_flagdata', 'hifa_fluxcalflag', 'hif_rawflagchans', 'hif_refant', 'h_tsyscal',
          'hifa_tsysflag', 'hifa_tsysflagcontamination', 'hifa_antpos', 'hifa_wvrgcalflag',
          'hif_lowgainflag', 'hifa_bandpassflag', 'hifa_bandpass', 'hifa_spwphaseup',
          'hifa_gfluxscaleflag', 'hifa_gfluxscale', 'hifa_timegaincal', 'hifa_renorm',
          'hifa_targetflag', 'hif_applycal', 'hif_mstransform', 'hifa_flagtargets'}


def build_stage(g, stage, taskname):
    g.stage = stage
    stats = [0]
    if taskname in PER_MS:
        budget = g.budget(stage, per_ms=True)
        items = []
        for vis in g.vis:
            if taskname == 'hif_rawflagchans':
                r = rawflagchans_result(g, vis, budget, stats=stats)
            elif taskname == 'hifa_tsysflag':
                r = tsysflag_result(g, vis, budget, stats=stats, stage=stage)
            elif taskname == 'hifa_wvrgcalflag':
                r = wvrgcalflag_result(g, vis, budget, stats=stats, stage=stage)
            elif taskname in ('hif_lowgainflag', 'hifa_bandpassflag', 'hifa_gfluxscaleflag'):
                extra = {'summaries': [{'name': 'before'}, {'name': 'after'}]}
                if taskname == 'hifa_gfluxscaleflag':
                    extra['plots'] = {}
                r = generic_view_result(g, fakes.RESULT_CLASSES[taskname], vis, budget,
                                        'Gain amplitude', stats=stats, extra=extra)
            elif taskname == 'hifa_bandpass':
                r = bandpass_result(g, vis, budget)
            elif taskname == 'hifa_flagdata':
                r = flagdata_result(g, vis, budget)
            else:
                r = generic_result(g, taskname, vis, budget)
            finalize(g, r, taskname, stage, vis, top=False)
            items.append(r)
        result = results_list(g, items, taskname, stage)
    else:
        budget = g.budget(stage, per_ms=False)
        if taskname == 'hifa_importdata':
            result = importdata_result(g, budget)
        elif taskname == 'hif_makeimlist':
            result = results_base(g, fakes.MakeImListResult, None, targets=make_imlist_targets(g, budget),
                                  clean_list_info={'msg': '', 'num_targets': 0},
                                  max_num_targets=0, mapping=None, error=False)
        elif taskname == 'hif_makeimages':
            result = results_base(g, fakes.MakeImagesResult, None, targets=[],
                                  results=makeimages_result(g, budget), error=False)
        else:
            result = generic_result(g, taskname, None, budget)
        finalize(g, result, taskname, stage, list(g.vis), top=True)
    g.transient[stage] = stats[0]
    return result


def build_context(g, results_uuids):
    ctx = new(fakes.Context, name=CONTEXT_NAME, output_dir=OUTPUT_DIR,
              _products_dir='../products',
              report_dir=os.path.join(OUTPUT_DIR, CONTEXT_NAME, 'html'),
              logs={'casa_commands': 'casa_commands.log', 'pipeline_script': 'casa_pipescript.py',
                    'pipeline_restore_script': 'casa_piperestorescript.py',
                    'aqua_report': 'pipeline_aquareport.xml',
                    'casalogs': ['casa-20261124-101455.log']},
              results=[])
    for stage, uid in enumerate(results_uuids, 1):
        ctx.results.append(new(fakes.ResultsProxy, _context=ctx, uuid=uid,
                               _basename='result-stage%d.pickle' % stage))
    mses = [make_ms(g, vis, CONTEXT_BYTES * g.scale / 4) for vis in g.vis]
    active = fakes.CalState()
    table = {}
    for vis in g.vis:
        for spw in (17, 19, 21, 23):
            for field in ('J1256-0547', 'NGC_4945'):
                for intent in ('BANDPASS', 'TARGET'):
                    for ant in ('', 'DA41'):
                        cfs = []
                        for kind in ('tsys', 'bandpass', 'gaincal'):
                            key = (vis, kind)
                            if key not in table:   # CalFrom flyweights: shared objects
                                table[key] = fakes.CalFrom('%s.%s.tbl' % (vis, kind), '', 'linear',
                                                           (), kind, kind != 'tsys')
                            cfs.append(table[key])
                        active[vis][spw][field][intent][ant] = cfs
    callib = new(fakes.CalLibrary, _context=ctx, _active=active, _applied=fakes.CalState())
    ctx.__dict__.update(
        task_counter=len(results_uuids), subtask_counter=0,
        processing_intents={'INTERFEROMETRY': True, 'CALIBRATION': True, 'IMAGING': True},
        observing_run=new(fakes.ObservingRun, measurement_sets=mses, virtual_science_spw_ids={},
                          virtual_science_spw_names={}, ms_reduction_group={}, ms_datatable_name=''),
        project_performance_parameters=new(fakes.PerformanceParameters, desired_angular_resolution='0.5arcsec',
                                           desired_sensitivity='0.1mJy', representative_source='NGC_4945'),
        project_structure=new(fakes.ProjectStructure, ous_entity_id='uid://A001/X1/X1',
                              ousstatus_entity_id='uid://A001/X1/X2', recipe_name='hifa_calimage'),
        project_summary=new(fakes.ProjectSummary, proposal_code='2026.1.00001.S',
                            piname='unknown', telescope='ALMA'),
        calimlist=new(fakes.ImageLibrary, _images=[]),
        callibrary=callib,
        clean_list_info={}, clean_list_pending=[], clean_masks={}, clean_thresholds={},
        contfile='cont.dat', imaging_mode='ALMA', imaging_parameters={}, linesfile='lines.dat',
        per_spw_cont_sensitivities_all_chan={'robust': 0.5, 'uvtaper': []},
        rmsimlist=new(fakes.ImageLibrary, _images=[]), sciimlist=new(fakes.ImageLibrary, _images=[]),
        selfcal_resources=[], selfcal_targets=[], size_mitigation_parameters={},
        subimlist=new(fakes.ImageLibrary, _images=[]),
        synthesized_beams={'robust': 0.5, 'uvtaper': []})
    return ctx


def cmd_context(args):
    g = Gen(seed=args.seed, scale=args.scale, n_ms=args.ms, flavour=args.flavour,
            protocol=args.protocol)
    outdir = args.outdir
    saved = os.path.join(outdir, CONTEXT_NAME, 'saved_state')
    os.makedirs(saved, exist_ok=True)
    os.makedirs(os.path.join(outdir, CONTEXT_NAME, 'html'), exist_ok=True)
    uuids = []
    rows = []
    t_start = time.time()
    for stage, taskname in enumerate(STAGES, 1):
        result = build_stage(g, stage, taskname)
        uuids.append(result._uuid)
        path = os.path.join(saved, 'result-stage%d.pickle' % stage)
        with open(path, 'wb') as f:
            pickle.dump(result, f, protocol=g.protocol)
        del result
        rows.append((stage, taskname, os.path.getsize(path), g.transient[stage]))
    ctx = build_context(g, uuids)
    cpath = os.path.join(outdir, CONTEXT_NAME + '.context')
    with open(cpath, 'wb') as f:
        pickle.dump(ctx, f, protocol=g.protocol)
    total = sum(r[2] for r in rows)
    trans = sum(r[3] for r in rows)
    if not args.quiet:
        print('%5s  %-28s %14s %14s' % ('stage', 'task', 'bytes', 'view arrays'))
        for r in rows:
            print('%5d  %-28s %14d %14d' % r)
        print('context %s: %d bytes' % (cpath, os.path.getsize(cpath)))
        print('total stage bytes %d (%.1f MB); array bytes in view/components %d (%.1f%%); %.1fs'
              % (total, total / 1e6, trans, 100.0 * trans / max(total, 1), time.time() - t_start))


def cmd_objheavy(args):
    g = Gen(seed=args.seed, scale=1.0, n_ms=1, flavour=args.flavour)
    vis = g.vis[0]
    r = flagdata_result(g, vis, args.mb * 1e6)
    finalize(g, r, 'hifa_flagdata', 2, vis, top=False)
    rl = results_list(g, [r], 'hifa_flagdata', 2)
    with open(args.out, 'wb') as f:
        pickle.dump(rl, f, protocol=args.protocol)


def cmd_instances(args):
    """A hif_makeimages-like result: thousands of instances whose dicts share their key
    strings (each written once, then fetched again from the memo), as most pipeline results
    and contexts hold them."""
    g = Gen(seed=args.seed, scale=1.0, n_ms=2, flavour=args.flavour)
    # makeimages_result counts 1,500 bytes a result (a stage's images and QA beside it);
    # pickled together, with their keys fetched from the memo, one takes about 380.
    rl = results_list(g, makeimages_result(g, args.mb * 1e6 * 1500 / 380), 'hif_makeimages', 30)
    with open(args.out, 'wb') as f:
        pickle.dump(rl, f, protocol=args.protocol)


def cmd_numpyheavy(args):
    g = Gen(seed=args.seed, scale=1.0, n_ms=2, flavour=args.flavour)
    items = []
    for vis in g.vis:
        r = rawflagchans_result(g, vis, args.mb * 1e6 / 2)
        finalize(g, r, 'hif_rawflagchans', 4, vis, top=False)
        items.append(r)
    rl = results_list(g, items, 'hif_rawflagchans', 4)
    with open(args.out, 'wb') as f:
        pickle.dump(rl, f, protocol=args.protocol)


# --------------------------------------------------------------------------
# small fixtures


def small_stage4(g):
    items = []
    for i, vis in enumerate(g.vis[:2]):
        # the second MS has no flag commands, so its vis string is first memoized
        # inside `view` and referenced again (BINGET) by the later `vis` attribute
        r = rawflagchans_result(g, vis, 0, nspw=2, dims=(4, 8), with_flags=(i == 0))
        finalize(g, r, 'hif_rawflagchans', 4, vis, top=False)
        items.append(r)
    return results_list(g, items, 'hif_rawflagchans', 4)


def small_slots(g):
    spws = make_spectral_windows(g, 2, 4)
    cf = fakes.CalFrom('x.ms.bcal.tbl', '', 'linear,linearflag', (0, 0, 2), 'bandpass', False)
    ms = make_ms(g, g.vis[0], 16 * 8 * 4)
    return {'spectral_windows': spws,                      # BUILD state: tuple
            'calfrom': [cf, cf],                           # NEWOBJ(args) + tuple state, shared
            'calto': fakes.CalTo(g.vis[0], '1', '17', '', 'BANDPASS'),
            'antennas': ms.antennas[:3],                   # (dict, slots) and (None, slots)
            'fields': ms.fields[:2]}                       # (None, slots)


class Plain:
    pass


def shared_cycles_obj(g):
    shared_axis = make_axis(g, 'channels', 'GHz', [230.0, 230.1, 230.2])
    shared_list = [1, 2, 3]
    shared_dict = {'k': 'v'}
    items = [new(fakes.ResultAxis, name='a%d' % i, units='', data=shared_list, channel_width=shared_dict)
             for i in range(3)]
    selfref_list = [0]
    selfref_list.append(selfref_list)
    selfref_dict = {'name': 'me'}
    selfref_dict['self'] = selfref_dict
    a = new(fakes.QaResult, name='a')
    b = new(fakes.QaResult, name='b', partner=a)
    a.partner = b                                          # object cycle
    rec = []
    rec_tuple = (rec, 'x', 'y', 'z')                      # recursive 4-tuple: POP_MARK (p>=1)
    rec.append(rec_tuple)
    rec2 = []
    rec_tuple2 = (rec2, 1)                                 # recursive 2-tuple: POP POP
    rec2.append(rec_tuple2)
    return {'axes': [shared_axis, shared_axis, [shared_axis]] + items,
            'shared_list': shared_list, 'again': [shared_list, shared_dict, shared_list],
            'selfref_list': selfref_list, 'selfref_dict': selfref_dict,
            'cycle': [a, b], 'rec_tuple': rec_tuple, 'rec_tuple2': rec_tuple2,
            'same_str': ['NGC_4945'] * 5, 'enum': [fakes.WebLogLocation.UNSET] * 3}


def plain_obj():
    """Plain data for serde_pickle: no classes, no empty bytes/bytearray (those use
    builtins.bytes()/bytearray() REDUCE with an empty tuple below protocol 3/5)."""
    return {
        'none': None, 'true': True, 'false': False,
        'ints': [0, 1, -1, 255, 256, -256, 65535, 65536, 2**31 - 1, -2**31, 2**31, 2**63 - 1,
                 -2**63, 2**64, -2**64 - 1, 2**100, -(2**200) + 7, 10**40],
        'huge': 2**2100 + 12345,                            # LONG4 at protocol >= 2
        'floats': [0.0, 1.5, -2.25, 1e300, 1e-300, 3.141592653589793, 2.5e-05],
        'strs': ['', 'a', 'NGC_4945', 'caf\u00e9', '\u65e5\u672c', 'rocket \U0001f680',
                 'line\nbreak', 'back\\slash', 'x' * 300],
        'bytes': [b'\x00', b'\xff\xfe', bytes(range(256))],
        'tuple': (1, 'two', 3.0, (4, (5,))), 'empty_tuple': (), 'empty_list': [], 'empty_dict': {},
        'nested': {'a': [1, [2, [3, [4]]]], 'b': {'c': {'d': {}}}},
        (1, 2): 'tuple key', 42: 'int key', -7: 'negative key', 2.5: 'float key',
        'set': {1, 2, 3}, 'frozenset': frozenset({'x', 'y'}),
        'list_of_dicts': [{'spw': i, 'flagged': float(i) * 1.5} for i in range(20)],
    }


def small_context_like(g):
    """A ResultsList holding a few small results (for multi-dump etc.)."""
    r = results_base(g, fakes.RESULT_CLASSES['hif_refant'], g.vis[0], vis=g.vis[0],
                     _refant='DA41,DA43,DV02')
    finalize(g, r, 'hif_refant', 5, g.vis[0], top=False)
    return results_list(g, [r], 'hif_refant', 5)


# hand-assembled streams ------------------------------------------------------


def a_str0(s):      # protocol-0 UNICODE argument (raw-unicode-escape like pickle.py)
    s = s.replace('\\', '\\u005c').replace('\0', '\\u0000').replace('\n', '\\u000a') \
        .replace('\r', '\\u000d').replace('\x1a', '\\u001a')
    return b'V' + s.encode('raw-unicode-escape') + b'\n'


def a_sbu(s):       # SHORT_BINUNICODE / BINUNICODE
    b = s.encode('utf-8')
    return (b'\x8c' + bytes([len(b)]) + b) if len(b) < 256 else (b'X' + struct.pack('<I', len(b)) + b)


def a_bu(s):
    b = s.encode('utf-8')
    return b'X' + struct.pack('<I', len(b)) + b


def text_ops_p0():
    """Protocol-0 opcodes pickle.py never writes in Python 3 (INST, STRING) plus
    INT 01/00 bools, LONG, DUP, POP, DICT/LIST with MARK, PUT/GET, FLOAT."""
    P = b'pipeline.infrastructure.basetask\n'
    out = b'(l'                                                   # MARK LIST -> []
    out += b'p0\n'
    # INST with no args: klass.__new__(klass); then BUILD a dict state
    out += b'(i' + P + b'Results\np1\n'
    out += b'(dp2\n' + a_str0('stage_number') + b'I4\ns' + a_str0('pipeline_casa_task') \
        + a_str0("hif_refant(vis=['uid___A002_X1_X2.ms'])") + b'sb'
    out += b'a'
    # INST with args: klass(*args)
    out += b'(F230.5\n' + a_str0('GHz') + b'ipipeline.domain.measures\nFrequency\np3\na'
    out += b'I01\naI00\na'                                         # True, False
    out += b'L0L\naL-123456789012345678901234567890L\naI-7\na'    # LONG, INT
    out += b"S'py2 str'\np4\na"                                   # STRING (decoded to str)
    out += b'(' + a_str0('dup me') + b'2e'                        # MARK x DUP APPENDS
    out += a_str0('popped') + b'0'                                 # POP
    out += b'g1\na'                                                # GET the INST object
    out += b'(I1\nI2\ntp5\na'                                      # TUPLE
    out += b'(' + a_str0('k') + b'Ndp6\na'                         # DICT {'k': None}
    out += b'g6\na'
    out += b'cpipeline.domain.measures\nFrequency\n(F1.0\ntRa'     # GLOBAL + REDUCE
    out += b'.'
    return out


def mixed_ops_p4():
    """Protocol 1-4 opcodes pickle.py rarely or never writes: OBJ, NEWOBJ_EX, LONG1
    with zero bytes, LONG4, POP_MARK, DUP, BINSTRING, SHORT_BINSTRING, BINUNICODE8,
    BINBYTES8, BYTEARRAY8, EMPTY_SET/ADDITEMS, FROZENSET, LONG_BINPUT/LONG_BINGET,
    a (dict, slots) BUILD state, all inside one FRAME."""
    body = b']\x94('                                               # EMPTY_LIST MEMOIZE(0) MARK
    # OBJ: MARK cls args... OBJ
    body += b'(' + a_sbu('pipeline.domain.measures') + a_sbu('Frequency') + b'\x93\x94' \
        + b'G' + struct.pack('>d', 230.5) + b'o\x94'
    # NEWOBJ_EX: cls args kwargs
    body += b'h\x01' + b'G' + struct.pack('>d', 1.0) + b'\x85' + b'}' + a_sbu('units') \
        + a_sbu('GHz') + b's\x92\x94'
    body += b'\x8a\x00'                                            # LONG1 with 0 bytes -> 0
    body += b'\x8a\x01\xff'                                        # LONG1 -1
    n = 300
    body += b'\x8b' + struct.pack('<i', n) + (b'\x01' * (n - 1)) + b'\x00'   # LONG4
    body += b'(' + b'K\x01K\x02K\x03' + b'1'                       # MARK ... POP_MARK
    body += a_sbu('dup') + b'2'                                    # DUP -> two items
    body += b'T' + struct.pack('<i', 5) + b'bin-s'                 # BINSTRING
    body += b'U\x05short'                                          # SHORT_BINSTRING
    b8 = 'unicode8 \u00e9'.encode()
    body += b'\x8d' + struct.pack('<Q', len(b8)) + b8              # BINUNICODE8
    body += b'\x8e' + struct.pack('<Q', 4) + b'\x00\x01\x02\x03'   # BINBYTES8
    body += b'\x96' + struct.pack('<Q', 3) + b'abc'                # BYTEARRAY8
    body += b'C\x02hi'                                             # SHORT_BINBYTES
    body += b'B' + struct.pack('<I', 3) + b'xyz'                   # BINBYTES
    body += b'\x8f\x94(K\x01K\x02\x90'                             # EMPTY_SET MEMOIZE ADDITEMS
    body += b'(K\x03K\x04\x91'                                     # FROZENSET
    body += a_sbu('long memo') + b'r' + struct.pack('<I', 1000)    # LONG_BINPUT 1000
    body += b'j' + struct.pack('<I', 1000)                         # LONG_BINGET 1000
    body += b'q\x05h\x05'                                          # BINPUT 5 / BINGET 5
    body += b'J' + struct.pack('<i', -100000) + b'M\xff\xff' + b'K\x00'
    body += b'\x88\x89N)'                                          # NEWTRUE NEWFALSE NONE ()
    # an Antenna with (dict, slots) state
    body += a_sbu('pipeline.domain.antenna') + a_sbu('Antenna') + b'\x93)\x81' \
        + b'}' + a_sbu('position') + b'N' + b's' + b'}' + a_sbu('id') + b'K\x07' + b's' \
        + b'\x86b'
    body += b'(' + a_sbu('x') + b'K\x01' + b'd'                   # DICT
    body += b'(K\x01K\x02l'                                        # LIST
    body += b'e'                                                   # APPENDS (MARK at 2)
    body += b'.'
    return b'\x80\x04' + b'\x95' + struct.pack('<Q', len(body)) + body


def deep_p2(depth=10000):
    out = b'\x80\x02'
    out += b']' * depth + b'a' * (depth - 1)                       # [[[...]]]
    out += b'}' + (a_bu('k') + b'}') * (depth - 1) + b's' * (depth - 1)   # {'k': {'k': ...}}
    out += b')' + b'\x85' * depth                                  # ((((),),),)
    out += b'\x87.'
    return out


# Relative: a payload creates its marker in the loading process's working directory, so a
# test can load each file with CPython in a throwaway directory (the positive control).
MARKER = 'picklescope_pwned_%s'


def malicious():
    """name -> (bytes, description).  Hand-assembled; never loaded here."""
    m = {}
    m['malicious_os_system_p0'] = (
        b'cos\nsystem\n(' + a_str0('touch ' + MARKER % 'os_system') + b'tR.',
        'GLOBAL os.system + REDUCE (protocol 0)')
    m['malicious_posix_system_p2'] = (
        b'\x80\x02cposix\nsystem\n' + a_bu('touch ' + MARKER % 'posix_system') + b'\x85R.',
        'GLOBAL posix.system + REDUCE (protocol 2; what pickle writes for os.system on Linux)')
    m['malicious_inst_p0'] = (
        b'(' + a_str0('touch ' + MARKER % 'inst') + b'ios\nsystem\n.',
        'INST os.system with an argument: calls os.system(arg)')
    m['malicious_eval_p4'] = (
        b'\x80\x04' + a_sbu('builtins') + a_sbu('eval') + b'\x93'
        + a_sbu("__import__('os').system('touch %s')" % (MARKER % 'eval')) + b'\x85R.',
        'STACK_GLOBAL builtins.eval')
    m['malicious_subprocess_p5'] = (
        b'\x80\x05' + a_sbu('subprocess') + a_sbu('Popen') + b'\x93'
        + b']\x94(' + a_sbu('touch') + a_sbu(MARKER % 'subprocess') + b'e\x85R.',
        'subprocess.Popen([...])')
    m['malicious_getattr_p2'] = (
        b'\x80\x02c__builtin__\ngetattr\n'
        + b'c__builtin__\n__import__\n' + a_bu('os') + b'\x85R' + a_bu('system') + b'\x86R'
        + a_bu('touch ' + MARKER % 'getattr') + b'\x85R.',
        'getattr(__import__("os"), "system")(cmd): nested REDUCE chain')
    m['malicious_build_p2'] = (
        # a Results whose _metadata holds an os.system call: the payload hides in a BUILD state
        b'\x80\x02cpipeline.infrastructure.basetask\nResults\n)\x81}(' + a_bu('_metadata')
        + b'cposix\nsystem\n' + a_bu('touch ' + MARKER % 'build') + b'\x85R'
        + a_bu('stage_number') + b'K\x04ub.',
        'payload nested inside an instance state (REDUCE inside BUILD)')
    return m


class _Cmd:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import operator
        return (operator.add, ('touch ', self.path))


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (_Cmd(self.path),))


class _EvilExec:
    def __reduce__(self):
        return (exec, ("open(%r, 'w').write('pwned')" % (MARKER % 'exec'),))


def malicious_reduce_chain(g):
    """Made with real pickle.dumps: __reduce__ returning os.system whose argument is
    itself a REDUCE (operator.add), hidden in a ResultsList; plus builtins.exec."""
    r = small_context_like(g)
    r._metadata['sidebar'] = _Evil(MARKER % 'reduce_chain')
    r._metadata['more'] = _EvilExec()
    return pickle.dumps(r, protocol=5)


class _StubLoad(pickle.Unpickler):
    """Verifies a non-malicious hand-made stream with CPython's C unpickler."""

    def find_class(self, module, name):
        return type(name, (_Stub,), {'__module__': module})

    def persistent_load(self, pid):
        return ('persid', pid)


class _Stub:
    def __new__(cls, *a, **k):
        return object.__new__(cls)

    def __init__(self, *a, **k):
        pass

    def __setstate__(self, state):
        self.state = state


def _check_loads(data):
    f = io.BytesIO(data)
    _StubLoad(f).load()
    pickletools.dis(data, out=io.StringIO())


def cmd_small(args):
    out = args.outdir
    os.makedirs(out, exist_ok=True)
    written = []

    def write(name, data):
        path = os.path.join(out, name)
        with open(path, 'wb') as f:
            f.write(data)
        written.append(name)

    def dump(name, obj, protocol, flavour='numpy1', seed=None):
        fakes.set_flavour(flavour)
        write(name, pickle.dumps(obj, protocol=protocol))

    # stage-4-like ResultsList, same objects for every protocol/flavour
    for p in range(6):
        dump('stage4_p%d.pickle' % p, small_stage4(Gen(seed=4)), p)
    for p in (2, 5):
        dump('stage4_np2_p%d.pickle' % p, small_stage4(Gen(seed=4, flavour='numpy2')), p, 'numpy2')

    g = Gen(seed=7, scale=1.0, n_ms=1)
    r = tsysflag_result(g, g.vis[0], 0, nspw=2, stage=7)
    finalize(g, r, 'hifa_tsysflag', 7, g.vis[0], top=False)
    dump('tsysflag_p5.pickle', results_list(g, [r], 'hifa_tsysflag', 7), 5)

    g = Gen(seed=10, scale=1.0, n_ms=1)
    r = wvrgcalflag_result(g, g.vis[0], 0, nspw=2, stage=10)
    finalize(g, r, 'hifa_wvrgcalflag', 10, g.vis[0], top=False)
    dump('wvrgcalflag_p5.pickle', results_list(g, [r], 'hifa_wvrgcalflag', 10), 5)

    dump('slots_p2.pickle', small_slots(Gen(seed=2)), 2)
    for p in (0, 2, 5):
        dump('shared_cycles_p%d.pickle' % p, shared_cycles_obj(Gen(seed=3)), p)
    for p in range(6):
        dump('plain_p%d.pickle' % p, plain_obj(), p)

    for p in (2, 4):
        dump('newobj_ex_p%d.pickle' % p,
             [fakes.Frequency(230.5e9, units='Hz'), fakes.Frequency(1.0, units='GHz')], p)

    # numpy format variants, both flavours
    def np_variants():
        rng = random.Random(5)
        f8 = get_dtype('f8')
        return {
            'c': ndarray(f8, (2, 3), rand_f8(rng, 6)),
            'f': ndarray(f8, (2, 3), rand_f8(rng, 6), layout='F'),
            'strided': ndarray(f8, (5,), rand_f8(rng, 5), layout='strided'),
            'k': ndarray(f8, (2, 3, 4), rand_f8(rng, 24), layout='K', axis_order=(1, 0, 2)),
            'zero_d': ndarray(f8, (), rand_f8(rng, 1)),
            'empty': ndarray(f8, (0,), bytearray()),
            'readonly': ndarray(f8, (2,), bytes(rand_f8(rng, 2))),
            'bool': ndarray(get_dtype('b1'), (4,), rand_bool(rng, 4, 30)),
            'i8': ndarray(get_dtype('i8'), (3,), rand_reason(rng, 3)),
            'f4be': ndarray(get_dtype('>f4'), (2,), bytearray(struct.pack('>2f', 1.0, 2.0))),
            'u5': ndarray(get_dtype('U5'), (2,), bytearray('ab'.ljust(5, '\0').encode('utf-32-le')
                                                            + 'cde'.ljust(5, '\0').encode('utf-32-le'))),
            'obj': ndarray(get_dtype('O'), (3,), items=['a', 1, None]),
            'scalars': [fakes.float64(1.5), fakes.int64(-3), fakes.bool_(True)],
            'same_dtype_twice': [ndarray(f8, (1,), rand_f8(rng, 1)), ndarray(f8, (1,), rand_f8(rng, 1))],
        }
    for fl, tag in (('numpy1', 'np1'), ('numpy2', 'np2')):
        for p in (2, 5):
            dump('numpy_variants_%s_p%d.pickle' % (tag, p), np_variants(), p, fl)

    # two pickles back to back
    fakes.set_flavour('numpy1')
    buf = io.BytesIO()
    pickle.dump(plain_obj(), buf, protocol=2)
    pickle.dump(small_context_like(Gen(seed=8)), buf, protocol=5)
    write('multi_dump.pickle', buf.getvalue())

    junk = random.Random(9).randbytes(61)
    write('trailing_junk.pickle', pickle.dumps({'stage_number': 4, 'ok': True}, protocol=5)
          + b'\xff' + junk)

    # copyreg extension codes: EXT1, EXT2, EXT4
    exts = {42: ('pipeline.h.tasks.common.commonresultobjects', 'ImageResult'),
            1000: ('numpy.core.multiarray', '_reconstruct'),
            100000: ('numpy', 'dtype')}
    for code, (mod, name) in exts.items():
        copyreg.add_extension(mod, name, code)
    try:
        fakes.set_flavour('numpy1')
        g = Gen(seed=11)
        img = image_result(g, g.vis[0], (2, 3), [], 'amp', 17, 'XX', 'BANDPASS')
        write('ext_codes_p2.pickle', pickle.dumps([img, img, image_result(
            g, g.vis[0], (1, 2), [], 'amp', 19, 'YY', 'BANDPASS')], protocol=2))
    finally:
        for code, (mod, name) in exts.items():
            copyreg.remove_extension(mod, name, code)
    with open(os.path.join(out, 'ext_codes_p2.json'), 'w') as f:
        json.dump({'description': 'ext_codes_p2.pickle uses copyreg extension codes; '
                                  'register these (copyreg.add_extension) to load it',
                   'extensions': {str(c): list(v) for c, v in exts.items()}}, f, indent=1)
    written.append('ext_codes_p2.json')

    # persistent ids
    g = Gen(seed=12)
    ms = make_ms(g, g.vis[0], 64)
    holder = {'ms': ms, 'again': ms, 'vis': g.vis[0], 'spw': ms.spectral_windows[:1]}
    for p in (0, 2):
        class PidPickler(pickle.Pickler):
            def persistent_id(self, obj, _p=p):
                if isinstance(obj, fakes.MeasurementSet):
                    return ('ms:' + obj.name) if _p == 0 else ('MeasurementSet', obj.name)
                return None
        b = io.BytesIO()
        PidPickler(b, protocol=p).dump(holder)
        write('persid_p%d.pickle' % p, b.getvalue())

    # out-of-band buffers
    g = Gen(seed=13)
    arrs = {'writable': ndarray(get_dtype('f8'), (4,), rand_f8(g.rng, 4)),
            'readonly': ndarray(get_dtype('f8'), (2,), bytes(rand_f8(g.rng, 2))),
            'raw': pickle.PickleBuffer(bytearray(b'raw buffer')),
            'raw_ro': pickle.PickleBuffer(b'read-only raw')}
    bufs = []
    fakes.set_flavour('numpy1')
    data = pickle.dumps(arrs, protocol=5, buffer_callback=bufs.append)
    write('oob_buffers_p5.pickle', data)
    desc = []
    for i, pb in enumerate(bufs):
        raw = pb.raw()
        desc.append({'index': i, 'length': raw.nbytes, 'readonly': raw.readonly,
                     'hex': raw.tobytes().hex()})
    with open(os.path.join(out, 'oob_buffers_p5.json'), 'w') as f:
        json.dump({'description': 'oob_buffers_p5.pickle was written with buffer_callback: '
                                  'it needs these buffers, in order, to load '
                                  '(pickle.loads(data, buffers=[...]))',
                   'buffers': desc}, f, indent=1)
    written.append('oob_buffers_p5.json')

    # hand-assembled streams (verified with CPython's C unpickler + pickletools)
    for name, data in (('text_ops_p0.pickle', text_ops_p0()), ('mixed_ops_p4.pickle', mixed_ops_p4()),
                       ('deep_p2.pickle', deep_p2())):
        _check_loads(data)
        write(name, data)

    mal = malicious()
    mal['malicious_reduce_chain_p5'] = (malicious_reduce_chain(Gen(seed=14)),
                                        '__reduce__ chain made with pickle.dumps: posix.system('
                                        '_operator.add("touch ", path)) and builtins.exec in _metadata')
    index = {}
    for name, (data, what) in sorted(mal.items()):
        pickletools.dis(data, out=io.StringIO())    # well-formed (pickletools never executes)
        write(name + '.pickle', data)
        marker = MARKER % name.split('_', 1)[1].rsplit('_p', 1)[0]
        index[name + '.pickle'] = {'what': what, 'marker': marker}
    index['malicious_reduce_chain_p5.pickle']['marker'] = [MARKER % 'reduce_chain', MARKER % 'exec']
    with open(os.path.join(out, 'malicious.json'), 'w') as f:
        json.dump({'description': 'NEVER load these with a real unpickler outside a throwaway '
                                  'directory. Each would create its marker file(s) in the working '
                                  'directory if executed; tests show CPython does and picklescope '
                                  'does not.',
                   'files': index}, f, indent=1)
    written.append('malicious.json')

    total = 0
    for name in written:
        size = os.path.getsize(os.path.join(out, name))
        total += size
        if not args.quiet:
            print('%8d  %s' % (size, name))
    if not args.quiet:
        print('%8d  total (%d files)' % (total, len(written)))


def main(argv=None):
    if os.environ.get('PYTHONHASHSEED') != '0':
        # set iteration order (sets of strings are pickled in iteration order) must not
        # depend on hash randomization: re-run with a fixed hash seed
        env = dict(os.environ, PYTHONHASHSEED='0')
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('small', help='small committed fixtures')
    p.add_argument('outdir')
    p.add_argument('--quiet', action='store_true')
    p.set_defaults(func=cmd_small)
    p = sub.add_parser('context', help='a whole pipeline context directory')
    p.add_argument('outdir')
    p.add_argument('--scale', type=float, default=0.003)
    p.add_argument('--ms', type=int, default=4)
    p.add_argument('--flavour', choices=sorted(fakes.FLAVOURS), default='numpy1')
    p.add_argument('--protocol', type=int, default=pickle.HIGHEST_PROTOCOL)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--quiet', action='store_true')
    p.set_defaults(func=cmd_context)
    for name, mb, fn in (('objheavy', 10, cmd_objheavy), ('instances', 10, cmd_instances),
                         ('numpyheavy', 1024, cmd_numpyheavy)):
        p = sub.add_parser(name)
        p.add_argument('out')
        p.add_argument('--mb', type=float, default=mb)
        p.add_argument('--flavour', choices=sorted(fakes.FLAVOURS), default='numpy1')
        p.add_argument('--protocol', type=int, default=pickle.HIGHEST_PROTOCOL)
        p.add_argument('--seed', type=int, default=1)
        p.set_defaults(func=fn)
    args = ap.parse_args(argv)
    args.func(args)


if __name__ == '__main__':
    main()
