//! The handler cores of `crate::handlers` in the job: one `Handler` per registered name, each
//! calling its core with what it needs already fetched (the upload, listings and published files
//! of the public store, a vocabulary) and applying the core's decisions through
//! [`super::handler::Apply`]; and the registry of names a pipeline file may give. The cores stay
//! plain functions over files; this is their wiring.

use std::sync::Arc;

use crate::error::JobError;
use crate::model::FileCollection;
use crate::pipeline::handler::{self as hook, HookContext};

/// Names a pipeline file may use in `handler = "…"`.
pub const NAMES: &[&str] = &[
    "default",
    "aatams_sattag",
    "anfog",
    "atf_acoustic_index",
    "nsw_oeh_survey",
    "tmv_log",
    "wave_monthly",
    "burst_average",
    "xbt_bufr",
];

/// The handler a pipeline file names, with its `[pipeline.handler_params]`, looked up once when
/// the file is validated; an unknown name or a parameter the handler does not take is refused
/// with what would fix it.
pub fn by_name(name: &str, params: &toml::Table) -> Result<Arc<dyn hook::Handler>, String> {
    let takes = |allowed: &[&str]| -> Result<(), String> {
        match params.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) if allowed.is_empty() => Err(format!(
                "handler {name:?} takes no parameters; remove handler_params.{k}"
            )),
            Some(k) => Err(format!(
                "handler {name:?} takes no parameter {k:?}; it takes: {}",
                allowed.join(", ")
            )),
            None => Ok(()),
        }
    };
    let text = |key: &str| -> Result<String, String> {
        match params.get(key) {
            Some(toml::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!(
                "handler_params.{key} of handler {name:?} must be a string, not {}",
                other.type_str()
            )),
            None => Err(format!(
                "handler {name:?} needs handler_params.{key}; add it under [pipeline.handler_params]"
            )),
        }
    };
    Ok(match name {
        "default" => {
            takes(&[])?;
            Arc::new(hook::DefaultHandler)
        }
        "atf_acoustic_index" => {
            takes(&[])?;
            Arc::new(AcousticHandler)
        }
        "nsw_oeh_survey" => {
            takes(&[])?;
            Arc::new(SurveyHandler)
        }
        "anfog" => {
            takes(&[])?;
            Arc::new(AnfogHandler)
        }
        "tmv_log" => {
            takes(&["vessels"])?;
            Arc::new(TmvHandler {
                vessels: text("vessels")?,
            })
        }
        "wave_monthly" => {
            takes(&[])?;
            Arc::new(WaveHandler)
        }
        "xbt_bufr" => {
            takes(&["vessels", "lines", "line_descriptions"])?;
            Arc::new(XbtHandler {
                vessels: text("vessels")?,
                lines: text("lines")?,
                line_descriptions: text("line_descriptions")?,
            })
        }
        "burst_average" => {
            takes(&[])?;
            Arc::new(BurstHandler)
        }
        "aatams_sattag" => {
            takes(&["mode"])?;
            let mode = text("mode")?;
            let mode = crate::handlers::aatams_sattag::Mode::parse(&mode).ok_or_else(|| {
                format!(
                    "handler_params.mode of handler {name:?} is {mode:?}; use \"dm\" or \"nrt\""
                )
            })?;
            Arc::new(SattagHandler { mode })
        }
        _ => {
            return Err(format!(
                "unknown handler {name:?}; known handlers: {}",
                NAMES.join(", ")
            ));
        }
    })
}

/// The entries of the vocabulary `name` that a handler's parameter `param` names; a name the
/// pipeline file does not declare is an internal error (`pipelines validate` should have caught it).
fn vocabulary(
    ctx: &HookContext<'_>,
    handler: &str,
    name: &str,
    param: &str,
) -> Result<std::collections::BTreeMap<String, String>, JobError> {
    ctx.pipeline
        .vocabulary(name)
        .map(|v| v.entries.clone())
        .ok_or_else(|| {
            JobError::internal(format!(
                "handler {handler}: pipeline {} names the vocabulary {name:?} (handler_params.{param}), which the pipeline file does not declare",
                ctx.pipeline.name
            ))
        })
}

mod acoustic {
    use super::*;
    use crate::handlers::atf_acoustic_index::*;

    /// The stream's handler in the job: [`place`] in preprocess (the names, every CSV stored as it
    /// came after the table-schema check), [`build_index`] after the check, as the reference, its
    /// index then checked and published with the detection files.
    pub struct AcousticHandler;

    const ATF_ACOUSTIC_INDEX: &str = "atf_acoustic_index";

    #[async_trait::async_trait]
    impl hook::Handler for AcousticHandler {
        fn name(&self) -> &'static str {
            ATF_ACOUSTIC_INDEX
        }

        fn places_files(&self) -> bool {
            true
        }

        async fn preprocess(
            &self,
            ctx: &HookContext<'_>,
            files: &mut FileCollection,
        ) -> Result<(), JobError> {
            let inputs = hook::inputs(files);
            let names: Vec<&str> = inputs.iter().map(|f| f.name.as_str()).collect();
            let placements = place(&ctx.upload.name, &names)?;
            ctx.apply(files, ATF_ACOUSTIC_INDEX).place_all(&placements)
        }

        async fn process(
            &self,
            ctx: &HookContext<'_>,
            files: &mut FileCollection,
        ) -> Result<(), JobError> {
            let inputs = hook::inputs(files);
            let dir = ctx.scratch()?.to_path_buf();
            let index =
                hook::blocking(ATF_ACOUSTIC_INDEX, move || build_index(&inputs, &dir)).await?;
            ctx.apply(files, ATF_ACOUSTIC_INDEX)
                .add_generated(&index.generated, &index.placement)
        }
    }
}

mod survey {
    use super::*;
    use crate::handlers::nsw_oeh_survey::*;

    /// The stream's handler in the job: [`prepare`] in preprocess, on the uploaded ZIP itself; its
    /// placements applied, the ZIP published whole where the survey method says so.
    pub struct SurveyHandler;

    const NSW_OEH_SURVEY: &str = "nsw_oeh_survey";

    #[async_trait::async_trait]
    impl hook::Handler for SurveyHandler {
        fn name(&self) -> &'static str {
            NSW_OEH_SURVEY
        }

        fn places_files(&self) -> bool {
            true
        }

        async fn preprocess(
            &self,
            ctx: &HookContext<'_>,
            files: &mut FileCollection,
        ) -> Result<(), JobError> {
            let names: Vec<String> = hook::inputs(files).into_iter().map(|f| f.name).collect();
            let (upload_name, zip) = (ctx.upload.name.clone(), ctx.upload.local_path.clone());
            let plan = hook::blocking(NSW_OEH_SURVEY, move || {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                prepare(&upload_name, &zip, &names)
            })
            .await?;
            let mut apply = ctx.apply(files, NSW_OEH_SURVEY);
            apply.place_all(&plan.files)?;
            if let Some(upload) = &plan.upload {
                apply.place_upload(ctx.upload, upload);
            }
            Ok(())
        }
    }
}

mod glider {
    use super::*;
    use crate::handlers::anfog::*;
    use std::collections::BTreeMap;

    /// The stream's handler in the job: [`classify`], the listings of the folders it names, then
    /// [`plan`]; its placements, deletions and status file applied in preprocess.
    pub struct AnfogHandler;

    const ANFOG: &str = "anfog";

    #[async_trait::async_trait]
    impl hook::Handler for AnfogHandler {
        fn name(&self) -> &'static str {
            ANFOG
        }

        fn places_files(&self) -> bool {
            true
        }

        async fn preprocess(
            &self,
            ctx: &HookContext<'_>,
            files: &mut FileCollection,
        ) -> Result<(), JobError> {
            let inputs = hook::inputs(files);
            let upload_name = ctx.upload.name.clone();
            let read = inputs.clone();
            let upload = hook::blocking(ANFOG, move || classify(&upload_name, &read)).await?;
            let mut listings = BTreeMap::new();
            for folder in &upload.folders_to_list {
                listings.insert(folder.clone(), ctx.list_public(folder).await?);
            }
            let dir = ctx.scratch()?.to_path_buf();
            let plan =
                hook::blocking(ANFOG, move || plan(&upload, &inputs, &listings, &dir)).await?;
            let mut apply = ctx.apply(files, ANFOG);
            apply.place_all(&plan.files)?;
            for d in &plan.deletions {
                apply.delete(d, &ctx.upload.name);
            }
            if let Some(status) = &plan.status {
                apply.add_generated(&status.generated, &status.placement)?;
            }
            Ok(())
        }
    }
}

mod tmv {
    use super::*;
    use crate::handlers::tmv_log::*;

    /// The stream's handler in the job: [`preprocess`] with the vessel vocabulary the pipeline file
    /// names (`handler_params.vessels`); the log's NetCDF joins the collection, the uploaded ZIP is
    /// archived whole where the core says so.
    pub struct TmvHandler {
        /// The name of the pipeline file's vessel vocabulary (callsign → vessel name).
        pub vessels: String,
    }

    const TMV_LOG: &str = "tmv_log";

    #[async_trait::async_trait]
    impl hook::Handler for TmvHandler {
        fn name(&self) -> &'static str {
            TMV_LOG
        }

        fn places_files(&self) -> bool {
            true
        }

        async fn preprocess(
            &self,
            ctx: &HookContext<'_>,
            files: &mut FileCollection,
        ) -> Result<(), JobError> {
            let vessels = vocabulary(ctx, TMV_LOG, &self.vessels, "vessels")?;
            let inputs = hook::inputs(files);
            let (upload_name, now) = (ctx.upload.name.clone(), ctx.now);
            let dir = ctx.scratch()?.to_path_buf();
            let outcome = hook::blocking(TMV_LOG, move || {
                preprocess(&upload_name, &inputs, &vessels, &dir, now)
            })
            .await?;
            let mut apply = ctx.apply(files, TMV_LOG);
            apply.place_all(&outcome.files)?;
            apply.add_all_generated(&outcome.generated)?;
            if let Some(upload) = &outcome.upload {
                apply.place_upload(ctx.upload, upload);
            }
            Ok(())
        }
    }
}

mod xbt {
    use super::*;
    use crate::handlers::xbt_bufr::*;

    /// The stream's handler in the job: [`preprocess`] with the vocabularies the pipeline file
    /// names (`handler_params.vessels`, `.lines`, `.line_descriptions`); each profile's NetCDF
    /// joins the collection.
    pub struct XbtHandler {
        /// Vessel callsign → name.
        pub vessels: String,
        /// XBT line code → preferred label.
        pub lines: String,
        /// XBT line code → description.
        pub line_descriptions: String,
    }

    const XBT_BUFR: &str = "xbt_bufr";

    #[async_trait::async_trait]
    impl hook::Handler for XbtHandler {
        fn name(&self) -> &'static str {
            XBT_BUFR
        }

        fn places_files(&self) -> bool {
            true
        }

        async fn preprocess(
            &self,
            ctx: &HookContext<'_>,
            files: &mut FileCollection,
        ) -> Result<(), JobError> {
            let vocab = XbtVocabularies {
                vessels: vocabulary(ctx, XBT_BUFR, &self.vessels, "vessels")?,
                line_labels: vocabulary(ctx, XBT_BUFR, &self.lines, "lines")?,
                line_descriptions: vocabulary(
                    ctx,
                    XBT_BUFR,
                    &self.line_descriptions,
                    "line_descriptions",
                )?,
            };
            let inputs = hook::inputs(files);
            let (upload_name, now) = (ctx.upload.name.clone(), ctx.now);
            let dir = ctx.scratch()?.to_path_buf();
            let outcome = hook::blocking(XBT_BUFR, move || {
                preprocess(&upload_name, &inputs, &vocab, &dir, now)
            })
            .await?;
            let mut apply = ctx.apply(files, XBT_BUFR);
            apply.place_all(&outcome.files)?;
            apply.add_all_generated(&outcome.generated)
        }
    }
}

mod sattag {
    use super::*;
    use crate::handlers::aatams_sattag::*;

    /// The stream's handler in the job: [`prepare`] in preprocess; for NRT, the published ZIPs of the
    /// same campaign listed, fetched and compared ([`check_nrt_update`]); the tables placed and the
    /// uploaded ZIP stored whole.
    pub struct SattagHandler {
        pub mode: Mode,
    }

    const AATAMS_SATTAG: &str = "aatams_sattag";

    #[async_trait::async_trait]
    impl hook::Handler for SattagHandler {
        fn name(&self) -> &'static str {
            AATAMS_SATTAG
        }

        fn places_files(&self) -> bool {
            true
        }

        async fn preprocess(
            &self,
            ctx: &HookContext<'_>,
            files: &mut FileCollection,
        ) -> Result<(), JobError> {
            let inputs = hook::inputs(files);
            let (upload_name, mode) = (ctx.upload.name.clone(), self.mode);
            let plan =
                hook::blocking(AATAMS_SATTAG, move || prepare(&upload_name, &inputs, mode)).await?;
            if mode == Mode::Nrt {
                let listing = ctx.list_public(&format!("{}/", mode.base())).await?;
                let mut published = Vec::new();
                for (n, key) in published_to_compare(&plan, &listing)
                    .into_iter()
                    .enumerate()
                {
                    let path = ctx.fetch_public(&key, n).await?;
                    published.push((key, path));
                }
                let compared = plan.clone();
                let comparisons = hook::blocking(AATAMS_SATTAG, move || {
                    check_nrt_update(&compared, &published)
                })
                .await?;
                for c in &comparisons {
                    tracing::info!("{}", c.log_line(&plan));
                }
            }
            let mut apply = ctx.apply(files, AATAMS_SATTAG);
            apply.place_all(&plan.files)?;
            apply.place_upload(ctx.upload, &plan.upload);
            Ok(())
        }
    }
}

mod wave {
    use super::*;
    use crate::handlers::plan::Placement;
    use crate::handlers::wave_monthly::*;
    use crate::model::PublishType;

    /// The stream's handler in the job: [`plan`] on the uploaded file's name. A real-time file of
    /// an aggregating institution is appended to the month's published product when the listing
    /// finds one (the product replaces it, `HARVEST_UPLOAD`; the upload is only archived), or
    /// published under the monthly name and archived under its own when there is none. Every
    /// other file is left to the pipeline's rules, which place it from its name as the
    /// reference's `dest_path` does (and which a dry run shows).
    pub struct WaveHandler;

    const WAVE_MONTHLY: &str = "wave_monthly";

    #[async_trait::async_trait]
    impl hook::Handler for WaveHandler {
        fn name(&self) -> &'static str {
            WAVE_MONTHLY
        }

        async fn preprocess(
            &self,
            ctx: &HookContext<'_>,
            files: &mut FileCollection,
        ) -> Result<(), JobError> {
            // A name the pattern refuses is the rules' to refuse, with the reference's message.
            if WaveName::parse(&ctx.upload.name).is_err() {
                return Ok(());
            }
            let plan = plan(&ctx.upload.name)?;
            let WavePlan::Aggregate {
                name,
                listing_prefix,
                product_dest_dir,
                ..
            } = &plan
            else {
                return Ok(());
            };
            let listed = ctx.list_public(listing_prefix).await?;
            let upload = Placement::new(&name.name, PublishType::ArchiveOnly, None)
                .with_archive(name.archive_path());
            let Some(monthly_key) = find_monthly(&plan, &listed) else {
                let first = Placement::new(
                    &name.name,
                    PublishType::HarvestArchiveUpload,
                    Some(name.dest_path()),
                )
                .with_archive(name.archive_path());
                return ctx.apply(files, WAVE_MONTHLY).place(&first);
            };
            let monthly = ctx.fetch_public(monthly_key, 0).await?;
            let monthly_name = crate::handlers::plan::base_name(monthly_key).to_string();
            let (upload_path, upload_name) =
                (ctx.upload.local_path.clone(), ctx.upload.name.clone());
            let (dir, now) = (ctx.scratch()?.join("product"), ctx.now);
            std::fs::create_dir_all(&dir)
                .map_err(|e| JobError::internal(format!("making {}: {e}", dir.display())))?;
            let product = hook::blocking(WAVE_MONTHLY, move || {
                aggregate(
                    &upload_path,
                    &upload_name,
                    &monthly,
                    &monthly_name,
                    &dir,
                    now,
                )
            })
            .await?;
            let placed = Placement::new(
                &product.name,
                PublishType::HarvestUpload,
                Some(crate::handlers::plan::join_key(
                    product_dest_dir,
                    &product.name,
                )),
            );
            let mut apply = ctx.apply(files, WAVE_MONTHLY);
            apply.place(&upload)?;
            apply.add_generated(&product, &placed)
        }
    }
}

mod burst {
    use super::*;
    use crate::handlers::HandlerError;
    use crate::handlers::burst_average::*;

    /// The moorings streams' handler in the job: for every burst-sampled NetCDF file of the
    /// upload ([`is_burst_file`]), its burst-averaged product ([`burst_average`], with the
    /// input's destination as the pipeline's rule renders it) joins the collection, claimed by
    /// the pipeline's rules like an uploaded file (the FV02 product takes the `burst-averaged/`
    /// level), then checked and published with the rest. The input files stay the rules'.
    pub struct BurstHandler;

    const BURST_AVERAGE: &str = "burst_average";

    #[async_trait::async_trait]
    impl hook::Handler for BurstHandler {
        fn name(&self) -> &'static str {
            BURST_AVERAGE
        }

        async fn preprocess(
            &self,
            ctx: &HookContext<'_>,
            files: &mut FileCollection,
        ) -> Result<(), JobError> {
            let (pipeline, key, now) = (ctx.pipeline, ctx.upload.key.as_str(), ctx.now);
            let mut made = Vec::new();
            for file in files.iter() {
                let Some(path) = file.local_path.clone() else {
                    continue;
                };
                if file.is_deletion() || !file.name.to_ascii_lowercase().ends_with(".nc") {
                    continue;
                }
                let (name, read) = (file.name.clone(), path.clone());
                if !hook::blocking(BURST_AVERAGE, move || is_burst_file(&read, &name)).await? {
                    continue;
                }
                // The product records where its input is published: the input's own rule,
                // rendered as the process step will render it.
                let (index, rule) = file
                    .rule
                    .and_then(|i| pipeline.rules.get(i).map(|r| (i, r)))
                    .ok_or_else(|| {
                        JobError::internal(format!(
                            "handler {BURST_AVERAGE}: {} has no rule of pipeline {}",
                            file.name, pipeline.name
                        ))
                    })?;
                let (label, name, read) =
                    (format!("files[{index}]"), file.name.clone(), path.clone());
                let (owner, rule, upload_key) = (pipeline.clone(), rule.clone(), key.to_string());
                let placed = hook::blocking(BURST_AVERAGE, move || {
                    crate::pipeline::route::place(
                        &owner,
                        label,
                        &rule,
                        &name,
                        &upload_key,
                        Some(&read),
                        now,
                    )
                    .map_err(|e| {
                        HandlerError::rejected(format!(
                            "{name}: cannot build the destination path: {e}"
                        ))
                    })
                })
                .await?;
                let name = file.name.clone();
                let input_destination = placed.dest.ok_or_else(|| {
                    JobError::rejected(format!(
                        "{name}: its rule of pipeline {} publishes it nowhere, so its burst-averaged product has no input_file to record",
                        pipeline.name
                    ))
                })?;
                let dir = ctx.scratch()?.join(format!("product_{}", made.len()));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| JobError::internal(format!("making {}: {e}", dir.display())))?;
                let params = BurstParams {
                    input_destination,
                    now,
                };
                let product = hook::blocking(BURST_AVERAGE, move || {
                    burst_average(&path, &name, &dir, &params)
                })
                .await?;
                made.push(product);
            }
            let mut apply = ctx.apply(files, BURST_AVERAGE);
            for product in &made {
                apply.add_generated_by_rules(product, key, now)?;
            }
            Ok(())
        }
    }
}

pub use acoustic::AcousticHandler;
pub use burst::BurstHandler;
pub use glider::AnfogHandler;
pub use sattag::SattagHandler;
pub use survey::SurveyHandler;
pub use tmv::TmvHandler;
pub use wave::WaveHandler;
pub use xbt::XbtHandler;
