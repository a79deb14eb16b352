//! The run's fixed names: the 48 stages, each task's result and task classes, the pipeline's
//! module paths, and the antennas, spectral windows and fields every stage refers to.

/// `procedure_hifa_calimage`, stage 1 to 48.
pub const STAGES: [&str; 48] = [
    "hifa_importdata",
    "hifa_flagdata",
    "hifa_fluxcalflag",
    "hif_rawflagchans",
    "hif_refant",
    "h_tsyscal",
    "hifa_tsysflag",
    "hifa_tsysflagcontamination",
    "hifa_antpos",
    "hifa_wvrgcalflag",
    "hif_lowgainflag",
    "hif_setmodels",
    "hifa_bandpassflag",
    "hifa_bandpass",
    "hifa_spwphaseup",
    "hifa_gfluxscaleflag",
    "hifa_gfluxscale",
    "hifa_timegaincal",
    "hifa_renorm",
    "hifa_targetflag",
    "hif_applycal",
    "hif_makeimlist",
    "hif_makeimages",
    "hif_makeimlist",
    "hif_makeimages",
    "hifa_imageprecheck",
    "hif_checkproductsize",
    "hifa_exportdata",
    "hif_mstransform",
    "hifa_flagtargets",
    "hif_makeimlist",
    "hif_findcont",
    "hif_uvcontsub",
    "hif_makeimages",
    "hif_makeimlist",
    "hif_makeimages",
    "hif_makeimlist",
    "hif_makeimages",
    "hif_selfcal",
    "hif_makeimlist",
    "hif_makeimages",
    "hif_makeimlist",
    "hif_makeimages",
    "hif_makeimlist",
    "hif_makeimages",
    "hif_makeimlist",
    "hif_makeimages",
    "hifa_exportdata",
];

// ---------------------------------------------------------------------------------------------
// Module paths

pub(super) const BASETASK: &str = "pipeline.infrastructure.basetask";
pub(super) const PQA: &str = "pipeline.infrastructure.pipelineqa";
pub(super) const CRO: &str = "pipeline.h.tasks.common.commonresultobjects";
pub(super) const AFB: &str = "pipeline.h.tasks.common.arrayflaggerbase";
pub(super) const CALLIB: &str = "pipeline.infrastructure.callibrary";
pub(super) const DOMAIN_MS: &str = "pipeline.domain.measurementset";
pub(super) const MEASURES: &str = "pipeline.domain.measures";
pub(super) const VIEWFLAGGERS: &str = "pipeline.h.tasks.common.viewflaggers";
pub(super) const RAWFLAGCHANS: &str = "pipeline.hif.tasks.rawflagchans.resultobjects";
pub(super) const LOWGAINFLAG: &str = "pipeline.hif.tasks.lowgainflag.resultobjects";
pub(super) const TSYSFLAG: &str = "pipeline.h.tasks.tsysflag.resultobjects";
pub(super) const WVRGCAL: &str = "pipeline.hifa.tasks.wvrgcal.resultobjects";
pub(super) const WVRGCALFLAG: &str = "pipeline.hifa.tasks.wvrgcalflag.resultobjects";
pub(super) const CORRECTEDAMPFLAG: &str = "pipeline.hifa.tasks.correctedampflag.resultobjects";

/// (results class, task class) per task.
pub(super) fn classes(task: &str) -> ((&'static str, &'static str), (&'static str, &'static str)) {
    match task {
        "hifa_importdata" => (
            (
                "pipeline.hifa.tasks.importdata.almaimportdata",
                "ALMAImportDataResults",
            ),
            (
                "pipeline.hifa.tasks.importdata.almaimportdata",
                "SerialALMAImportData",
            ),
        ),
        "hifa_flagdata" => (
            (
                "pipeline.hifa.tasks.flagging.flagdeteralma",
                "FlagDeterALMAResults",
            ),
            (
                "pipeline.hifa.tasks.flagging.flagdeteralma",
                "SerialFlagDeterALMA",
            ),
        ),
        "hifa_fluxcalflag" => (
            (
                "pipeline.hifa.tasks.fluxscale.fluxcalflag",
                "FluxcalFlagResults",
            ),
            ("pipeline.hifa.tasks.fluxscale.fluxcalflag", "FluxcalFlag"),
        ),
        "hif_rawflagchans" => (
            (
                "pipeline.hif.tasks.rawflagchans.resultobjects",
                "RawflagchansResults",
            ),
            (
                "pipeline.hif.tasks.rawflagchans.rawflagchans",
                "SerialRawflagchans",
            ),
        ),
        "hif_refant" => (
            (
                "pipeline.hif.tasks.refant.referenceantenna",
                "RefAntResults",
            ),
            ("pipeline.hif.tasks.refant.referenceantenna", "RefAnt"),
        ),
        "h_tsyscal" => (
            ("pipeline.h.tasks.tsyscal.resultobjects", "TsyscalResults"),
            ("pipeline.h.tasks.tsyscal.tsyscal", "SerialTsyscal"),
        ),
        "hifa_tsysflag" => (
            ("pipeline.h.tasks.tsysflag.resultobjects", "TsysflagResults"),
            ("pipeline.hifa.tasks.tsysflag.tsysflag", "SerialTsysflag"),
        ),
        "hifa_tsysflagcontamination" => (
            (
                "pipeline.hifa.tasks.tsysflagcontamination.tsysflagcontamination",
                "TsysFlagContaminationResults",
            ),
            (
                "pipeline.hifa.tasks.tsysflagcontamination.tsysflagcontamination",
                "SerialTsysFlagContamination",
            ),
        ),
        "hifa_antpos" => (
            ("pipeline.h.tasks.antpos.antpos", "AntposResults"),
            ("pipeline.hifa.tasks.antpos.almaantpos", "SerialALMAAntpos"),
        ),
        "hifa_wvrgcalflag" => (
            (
                "pipeline.hifa.tasks.wvrgcalflag.resultobjects",
                "WvrgcalflagResults",
            ),
            (
                "pipeline.hifa.tasks.wvrgcalflag.wvrgcalflag",
                "SerialWvrgcalflag",
            ),
        ),
        "hif_lowgainflag" => (
            (
                "pipeline.hif.tasks.lowgainflag.resultobjects",
                "LowgainflagResults",
            ),
            (
                "pipeline.hif.tasks.lowgainflag.lowgainflag",
                "SerialLowgainflag",
            ),
        ),
        "hif_setmodels" => (
            ("pipeline.hif.tasks.setmodel.setmodel", "SetModelsResults"),
            ("pipeline.hif.tasks.setmodel.setmodel", "SetModels"),
        ),
        "hifa_bandpassflag" => (
            (
                "pipeline.hifa.tasks.bandpassflag.resultobjects",
                "BandpassflagResults",
            ),
            (
                "pipeline.hifa.tasks.bandpassflag.bandpassflag",
                "SerialBandpassflag",
            ),
        ),
        "hifa_bandpass" => (
            ("pipeline.hif.tasks.bandpass.common", "BandpassResults"),
            (
                "pipeline.hifa.tasks.bandpass.almaphcorbandpass",
                "SerialALMAPhcorBandpass",
            ),
        ),
        "hifa_spwphaseup" => (
            (
                "pipeline.hifa.tasks.spwphaseup.spwphaseup",
                "SpwPhaseupResults",
            ),
            (
                "pipeline.hifa.tasks.spwphaseup.spwphaseup",
                "SerialSpwPhaseup",
            ),
        ),
        "hifa_gfluxscaleflag" => (
            (
                "pipeline.hifa.tasks.gfluxscaleflag.resultobjects",
                "GfluxscaleflagResults",
            ),
            (
                "pipeline.hifa.tasks.gfluxscaleflag.gfluxscaleflag",
                "SerialGfluxscaleflag",
            ),
        ),
        "hifa_gfluxscale" => (
            (
                "pipeline.hifa.tasks.fluxscale.gcorfluxscale",
                "GcorFluxscaleResults",
            ),
            (
                "pipeline.hifa.tasks.fluxscale.gcorfluxscale",
                "SerialGcorFluxscale",
            ),
        ),
        "hifa_timegaincal" => (
            (
                "pipeline.hifa.tasks.gaincal.timegaincal",
                "TimeGaincalResults",
            ),
            (
                "pipeline.hifa.tasks.gaincal.timegaincal",
                "SerialTimeGaincal",
            ),
        ),
        "hifa_renorm" => (
            ("pipeline.hifa.tasks.renorm.renorm", "RenormResults"),
            ("pipeline.hifa.tasks.renorm.renorm", "SerialRenorm"),
        ),
        "hifa_targetflag" => (
            (
                "pipeline.hifa.tasks.targetflag.targetflag",
                "TargetflagResults",
            ),
            (
                "pipeline.hifa.tasks.targetflag.targetflag",
                "SerialTargetflag",
            ),
        ),
        "hif_applycal" => (
            ("pipeline.h.tasks.applycal.applycal", "ApplycalResults"),
            (
                "pipeline.hifa.tasks.applycal.almaapplycal",
                "SerialALMAApplycal",
            ),
        ),
        "hif_makeimlist" => (
            (
                "pipeline.hif.tasks.makeimlist.resultobjects",
                "MakeImListResult",
            ),
            ("pipeline.hif.tasks.makeimlist.makeimlist", "MakeImList"),
        ),
        "hif_makeimages" => (
            (
                "pipeline.hif.tasks.makeimages.resultobjects",
                "MakeImagesResult",
            ),
            ("pipeline.hif.tasks.makeimages.makeimages", "MakeImages"),
        ),
        "hifa_imageprecheck" => (
            (
                "pipeline.hifa.tasks.imageprecheck.resultobjects",
                "ImagePreCheckResults",
            ),
            (
                "pipeline.hifa.tasks.imageprecheck.imageprecheck",
                "ImagePreCheck",
            ),
        ),
        "hif_checkproductsize" => (
            (
                "pipeline.hif.tasks.checkproductsize.resultobjects",
                "CheckProductSizeResult",
            ),
            (
                "pipeline.hif.tasks.checkproductsize.checkproductsize",
                "CheckProductSize",
            ),
        ),
        "hifa_exportdata" => (
            (
                "pipeline.h.tasks.exportdata.exportdata",
                "ExportDataResults",
            ),
            (
                "pipeline.hifa.tasks.exportdata.almaexportdata",
                "ALMAExportData",
            ),
        ),
        "hif_mstransform" => (
            (
                "pipeline.hif.tasks.mstransform.mstransform",
                "MstransformResults",
            ),
            (
                "pipeline.hif.tasks.mstransform.mstransform",
                "SerialMstransform",
            ),
        ),
        "hifa_flagtargets" => (
            (
                "pipeline.hifa.tasks.flagging.flagtargetsalma",
                "FlagTargetsALMAResults",
            ),
            (
                "pipeline.hifa.tasks.flagging.flagtargetsalma",
                "SerialFlagTargetsALMA",
            ),
        ),
        "hif_findcont" => (
            (
                "pipeline.hif.tasks.findcont.resultobjects",
                "FindContResult",
            ),
            ("pipeline.hif.tasks.findcont.findcont", "FindCont"),
        ),
        "hif_uvcontsub" => (
            ("pipeline.hif.tasks.uvcontsub.uvcontsub", "UVcontSubResults"),
            ("pipeline.hif.tasks.uvcontsub.uvcontsub", "SerialUVcontSub"),
        ),
        "hif_selfcal" => (
            ("pipeline.hif.tasks.selfcal.selfcal", "SelfcalResults"),
            ("pipeline.hif.tasks.selfcal.selfcal", "Selfcal"),
        ),
        _ => (
            ("pipeline.infrastructure.basetask", "Results"),
            ("pipeline.infrastructure.basetask", "StandardTaskTemplate"),
        ),
    }
}

/// Tasks that run once per session rather than once per measurement set.
pub(super) fn session_level(task: &str) -> bool {
    matches!(
        task,
        "hifa_importdata"
            | "hif_makeimlist"
            | "hif_makeimages"
            | "hifa_imageprecheck"
            | "hif_checkproductsize"
            | "hifa_exportdata"
            | "hif_findcont"
            | "hif_selfcal"
    )
}

pub(super) const ANTENNAS: [&str; 10] = [
    "DA41", "DA42", "DA45", "DA49", "DA52", "DV03", "DV07", "DV12", "DV18", "DV24",
];
pub(super) const SPWS: [i64; 4] = [17, 19, 21, 23];
pub(super) const POLS: [&str; 2] = ["XX", "YY"];
pub(super) const FIELDS: [(&str, &str); 3] = [
    ("J1427-4206", "BANDPASS,FLUX"),
    ("J1337-1257", "PHASE"),
    ("NGC_5128", "TARGET"),
];
pub(super) const N_ANT: usize = 8;
/// 2024-05-01T00:00:00Z.
pub(super) const DAY_EPOCH: f64 = 1_714_521_600.0;
