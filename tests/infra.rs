//! Structural tests of the Terraform module in `infra/` and of the image it runs.
//!
//! `terraform validate` and `plan` need the provider registry, which CI cannot reach. These tests
//! instead evaluate the module's real blocks with `hcl-rs`, as a small offline plan: the inputs of
//! `examples/complete` (with the defaults of `optional()` applied), the locals, and every resource
//! and data source expanded per `for_each` key and `dynamic` block. A resource's computed
//! attributes evaluate to placeholders that name it, such as `aws_sqs_queue.pipeline["anmn_nrs"].arn`,
//! so a test can follow each reference: prefix -> notification -> queue -> pipe -> job queue.
//!
//! Every check returns the problems it finds. The tests at the end break the module in memory and
//! assert that the matching check reports it, so no check can silently pass everything.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use hcl::Value;
use hcl::eval::{Context, Evaluate};
use pretty_assertions::assert_eq;
use regex::Regex;
use serde_json::{Value as Json, json};

#[path = "infra/aws.rs"]
mod aws;
#[path = "infra/plan.rs"]
mod plan;

use aws::{Decision, Failure, batch_decision, json_path, pattern_matches, s3_event, sqs_message};
use plan::{
    ACCOUNT, Plan, REGION, attr, example_inputs, example_sources, label, module_sources, mutated,
    parse, r, repo, to_json,
};

/// The job's command line; `Ref::key` is the object key the pipe takes from the S3 event.
const JOB_COMMAND: [&str; 3] = ["run", "--incoming-key", "Ref::key"];

/// Actions that accept no resource but "*" (IAM has no resource-level permission for them).
const RESOURCELESS_ACTIONS: [&str; 1] = ["ecr:GetAuthorizationToken"];

// ---------------------------------------------------------------------------------------------
// Checks: each returns the problems it finds
// ---------------------------------------------------------------------------------------------

/// Records a problem when a condition does not hold.
macro_rules! check {
    ($problems:expr, $ok:expr, $($message:tt)+) => {
        if !$ok {
            $problems.push(format!($($message)+));
        }
    };
}

fn s(v: &Json) -> &str {
    v.as_str().unwrap_or("")
}

fn block<'a>(body: &'a Json, name: &str) -> &'a Json {
    &body[name][0]
}

/// Each pipeline prefix -> S3 notification -> its own queue -> its own pipe -> the job queue.
fn check_wiring(plan: &Plan) -> Vec<String> {
    let mut p = Vec::new();
    let incoming_arn = r("aws_s3_bucket", "this", Some("incoming"), "arn");
    let job_queue_arn = r("aws_batch_job_queue", "this", None, "arn");
    let notification = plan.one("aws_s3_bucket_notification", "incoming");
    let rules = notification["queue"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    check!(
        p,
        s(&notification["bucket"]) == r("aws_s3_bucket", "this", Some("incoming"), "id"),
        "the notification is not on the incoming bucket"
    );
    check!(
        p,
        rules.len() == plan.pipelines().len(),
        "{} notification rules for {} pipelines",
        rules.len(),
        plan.pipelines().len()
    );

    for (name, pipeline) in plan.pipelines() {
        let prefix = s(&pipeline["key_prefix"]);
        let queue_arn = r("aws_sqs_queue", "pipeline", Some(&name), "arn");
        let matching: Vec<&Json> = rules
            .iter()
            .filter(|rule| s(&rule["filter_prefix"]) == prefix)
            .collect();
        check!(
            p,
            matching.len() == 1,
            "{name}: {} notification rules for prefix {prefix}",
            matching.len()
        );
        if let Some(rule) = matching.first() {
            check!(
                p,
                s(&rule["queue_arn"]) == queue_arn,
                "{name}: uploads under {prefix} go to {}, not to {queue_arn}",
                rule["queue_arn"]
            );
            check!(
                p,
                rule["events"] == json!(["s3:ObjectCreated:*"]),
                "{name}: notification events are {}",
                rule["events"]
            );
        }

        // S3 may send to the queue, and only from the incoming bucket.
        let policy = plan.at("aws_sqs_queue_policy", "pipeline", &name);
        check!(
            p,
            s(&policy["queue_url"]) == r("aws_sqs_queue", "pipeline", Some(&name), "id"),
            "{name}: queue policy is on another queue"
        );
        check!(
            p,
            s(&policy["policy"])
                == r(
                    "data.aws_iam_policy_document",
                    "pipeline_queue",
                    Some(&name),
                    "json",
                ),
            "{name}: queue policy is not its document"
        );
        let statement = block(plan.doc("pipeline_queue", Some(&name)), "statement");
        let source_arns: Vec<&Json> = statement["condition"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["variable"] == "aws:SourceArn")
            .flat_map(|c| c["values"].as_array().unwrap())
            .collect();
        check!(
            p,
            statement["resources"] == json!([queue_arn]) && source_arns == [&json!(incoming_arn)],
            "{name}: queue policy does not let exactly the incoming bucket send to the queue"
        );
        check!(
            p,
            block(statement, "principals")["identifiers"] == json!(["s3.amazonaws.com"]),
            "{name}: queue policy principal is not S3"
        );

        let pipe = plan.at("aws_pipes_pipe", "pipeline", &name);
        check!(
            p,
            s(&pipe["source"]) == queue_arn,
            "{name}: the pipe reads {}, not its queue {queue_arn}",
            pipe["source"]
        );
        check!(
            p,
            s(&pipe["target"]) == job_queue_arn,
            "{name}: the pipe targets {}, not the job queue",
            pipe["target"]
        );
        let sqs = block(block(pipe, "source_parameters"), "sqs_queue_parameters");
        check!(
            p,
            sqs["batch_size"] == json!(1),
            "{name}: batch_size {} (one message must be one job)",
            sqs["batch_size"]
        );
        let target = block(block(pipe, "target_parameters"), "batch_job_parameters");
        check!(
            p,
            s(&target["job_definition"])
                == r("aws_batch_job_definition", "pipeline", Some(&name), "arn"),
            "{name}: the pipe submits {}",
            target["job_definition"]
        );

        // The filter passes uploads and drops S3's test event and deletions.
        let pattern: Json = serde_json::from_str(s(&block(
            block(block(pipe, "source_parameters"), "filter_criteria"),
            "filter",
        )["pattern"]))
        .unwrap_or(Json::Null);
        let key = format!("{prefix}IMOS_ANMN-NRS_20240101T000000Z_FV01.nc");
        let upload = sqs_message(s3_event("ObjectCreated:Put", "incoming", &key));
        let multipart = sqs_message(s3_event(
            "ObjectCreated:CompleteMultipartUpload",
            "incoming",
            &key,
        ));
        let deletion = sqs_message(s3_event("ObjectRemoved:Delete", "incoming", &key));
        let test_event = sqs_message(
            json!({ "Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "incoming" }),
        );
        check!(
            p,
            pattern_matches(&pattern, &upload) && pattern_matches(&pattern, &multipart),
            "{name}: the pipe filter drops uploads"
        );
        check!(
            p,
            !pattern_matches(&pattern, &deletion) && !pattern_matches(&pattern, &test_event),
            "{name}: the pipe filter passes deletions or s3:TestEvent"
        );
    }

    let queue = plan.one("aws_batch_job_queue", "this");
    let order = block(queue, "compute_environment_order");
    check!(
        p,
        s(&order["compute_environment"]) == r("aws_batch_compute_environment", "this", None, "arn"),
        "the job queue does not use the compute environment"
    );
    let compute = block(
        plan.one("aws_batch_compute_environment", "this"),
        "compute_resources",
    );
    check!(
        p,
        matches!(s(&compute["type"]), "FARGATE" | "FARGATE_SPOT"),
        "compute environment type {}",
        compute["type"]
    );
    p
}

/// Every queue has a dead-letter queue (its own), every dead-letter queue keeps messages for 14
/// days, accepts only its source and raises an alarm; every queue is encrypted with the key.
fn check_dead_letter_queues(plan: &Plan) -> Vec<String> {
    let mut p = Vec::new();
    let key_arn = r("aws_kms_key", "this", None, "arn");
    let mut queues: BTreeMap<String, (String, Json)> = BTreeMap::new();
    for (name, instances) in [
        ("pipeline", plan.resource("aws_sqs_queue", "pipeline")),
        (
            "pipeline_dlq",
            plan.resource("aws_sqs_queue", "pipeline_dlq"),
        ),
        ("results", plan.resource("aws_sqs_queue", "results")),
        ("results_dlq", plan.resource("aws_sqs_queue", "results_dlq")),
    ] {
        for (key, body) in instances {
            queues.insert(
                r("aws_sqs_queue", name, key.as_deref(), "arn"),
                (
                    r("aws_sqs_queue", name, key.as_deref(), "name"),
                    body.clone(),
                ),
            );
        }
    }
    let all_names: BTreeSet<&str> = plan
        .instances
        .keys()
        .filter(|a| a.ty == "aws_sqs_queue" && !a.data)
        .map(|a| a.name.as_str())
        .collect();
    check!(
        p,
        all_names == BTreeSet::from(["pipeline", "pipeline_dlq", "results", "results_dlq"]),
        "unexpected set of queues {all_names:?}"
    );

    let mut dead_letter_of: BTreeMap<String, String> = BTreeMap::new();
    for (arn, (_, body)) in &queues {
        if let Some(redrive) = body.get("redrive_policy") {
            let redrive: Json = serde_json::from_str(s(redrive)).unwrap_or(Json::Null);
            let dlq = s(&redrive["deadLetterTargetArn"]).to_owned();
            check!(
                p,
                queues.contains_key(&dlq) && dlq != *arn,
                "{arn}: dead-letter target {dlq} is not another queue of the module"
            );
            check!(
                p,
                redrive["maxReceiveCount"].as_u64().is_some_and(|n| n >= 1),
                "{arn}: maxReceiveCount {}",
                redrive["maxReceiveCount"]
            );
            if let Some(previous) = dead_letter_of.insert(dlq.clone(), arn.clone()) {
                p.push(format!(
                    "{previous} and {arn} share the dead-letter queue {dlq}"
                ));
            }
        }
    }
    let alarms: Vec<Json> = ["pipeline_dlq", "results_dlq"]
        .iter()
        .flat_map(|n| {
            plan.resource("aws_cloudwatch_metric_alarm", n)
                .values()
                .cloned()
        })
        .collect();
    let allow_policies: Vec<Json> = ["pipeline_dlq", "results_dlq"]
        .iter()
        .flat_map(|n| {
            plan.resource("aws_sqs_queue_redrive_allow_policy", n)
                .values()
                .cloned()
        })
        .collect();
    for (arn, (queue_name, body)) in &queues {
        check!(
            p,
            s(&body["kms_master_key_id"]) == key_arn,
            "{arn} is not encrypted with the module's key"
        );
        match dead_letter_of.get(arn) {
            None => check!(
                p,
                body.get("redrive_policy").is_some(),
                "{arn} has no dead-letter queue"
            ),
            Some(source) => {
                check!(
                    p,
                    body["message_retention_seconds"] == json!(1209600),
                    "{arn} keeps dead letters {} s, not 14 days",
                    body["message_retention_seconds"]
                );
                let alarmed = alarms.iter().any(|a| {
                    s(&a["dimensions"]["QueueName"]) == queue_name
                        && a["metric_name"] == "ApproximateNumberOfMessagesVisible"
                        && !a["alarm_actions"].as_array().unwrap().is_empty()
                });
                check!(p, alarmed, "no alarm on the depth of {arn}");
                let url = arn.replace(".arn", ".id");
                let allowed = allow_policies.iter().any(|a| {
                    let policy: Json =
                        serde_json::from_str(s(&a["redrive_allow_policy"])).unwrap_or(Json::Null);
                    s(&a["queue_url"]) == url
                        && policy["redrivePermission"] == "byQueue"
                        && policy["sourceQueueArns"] == json!([source])
                });
                check!(
                    p,
                    allowed,
                    "{arn} does not accept dead letters from exactly {source}"
                );
            }
        }
    }
    p
}

fn container_properties(plan: &Plan, name: &str) -> Json {
    serde_json::from_str(s(
        &plan.at("aws_batch_job_definition", "pipeline", name)["container_properties"],
    ))
    .expect("container_properties is JSON")
}

fn expected_environment(plan: &Plan) -> BTreeMap<String, String> {
    let bucket = |role: &str| r("aws_s3_bucket", "this", Some(role), "bucket");
    let mut env: BTreeMap<String, String> = [
        (
            "INGEST_INCOMING_URL",
            format!("s3://{}", bucket("incoming")),
        ),
        ("INGEST_ARCHIVE_URL", format!("s3://{}", bucket("archive"))),
        ("INGEST_PUBLIC_URL", format!("s3://{}", bucket("public"))),
        (
            "INGEST_ERROR_URL",
            format!("s3://{}/errors", bucket("error")),
        ),
        (
            "INGEST_REPORTS_URL",
            format!("s3://{}/reports", bucket("error")),
        ),
        ("INGEST_NOTIFY_URL", s(&plan.vars["smtp_url"]).to_owned()),
        (
            "INGEST_NOTIFY_FROM",
            s(&plan.vars["notify_from"]).to_owned(),
        ),
        (
            "INGEST_RESULTS_QUEUE_URL",
            r("aws_sqs_queue", "results", None, "url"),
        ),
        (
            "INGEST_PIPELINES",
            s(&plan.vars["pipelines_config_path"]).to_owned(),
        ),
        ("INGEST_LOG_FORMAT", "json".to_owned()),
        ("INGEST_WORK_DIR", "/tmp".to_owned()),
        ("INGEST_SOURCE_KEY_ENCODING", "url".to_owned()),
        (
            "INGEST_MAX_ATTEMPTS",
            plan.vars["retry_attempts"].to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let ops: Vec<&str> = plan.vars["ops_email_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(s)
        .collect();
    if !ops.is_empty() {
        env.insert("INGEST_OPS_EMAIL".to_owned(), ops.join(","));
    }
    for (k, v) in plan.vars["extra_environment"].as_object().unwrap() {
        env.entry(k.clone()).or_insert_with(|| s(v).to_owned());
    }
    env
}

/// The job definition runs the ingest command with the parameters the pipe fills in, the
/// settings the binary reads, the secrets from Secrets Manager, a read-only root, and the
/// pipeline's size and timeout.
fn check_job_definitions(plan: &Plan) -> Vec<String> {
    let mut p = Vec::new();
    let whole_path = Regex::new(r"^\$\.body(\.[A-Za-z0-9_-]+|\[\d+\])+$").unwrap();
    for (name, pipeline) in plan.pipelines() {
        let definition = plan.at("aws_batch_job_definition", "pipeline", &name);
        check!(
            p,
            definition["type"] == "container"
                && definition["platform_capabilities"] == json!(["FARGATE"]),
            "{name}: not a Fargate container job"
        );
        let cp = container_properties(plan, &name);
        check!(
            p,
            cp["command"] == json!(JOB_COMMAND),
            "{name}: command {} is not {JOB_COMMAND:?}",
            cp["command"]
        );

        // Every placeholder of the command is a parameter the pipe sets from the S3 event.
        let pipe = plan.at("aws_pipes_pipe", "pipeline", &name);
        let parameters =
            block(block(pipe, "target_parameters"), "batch_job_parameters")["parameters"].clone();
        let key = format!("{}IMOS ANMN+file (1).nc", s(&pipeline["key_prefix"]));
        let encoded = key
            .replace('+', "%2B")
            .replace(' ', "+")
            .replace('(', "%28")
            .replace(')', "%29");
        let message = sqs_message(s3_event("ObjectCreated:Put", "incoming", &encoded));
        for arg in cp["command"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
        {
            let Some(param) = arg.strip_prefix("Ref::") else {
                continue;
            };
            let path = s(&parameters[param]);
            check!(
                p,
                whole_path.is_match(path),
                "{name}: Ref::{param} is {path:?}, not a whole JSON path into the message body (Pipes substitutes only whole paths)"
            );
            if param == "key" {
                check!(
                    p,
                    json_path(path, &message) == Some(&json!(encoded)),
                    "{name}: {path} does not select the object key of an S3 event"
                );
            }
        }

        let environment: BTreeMap<String, String> = cp["environment"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| (s(&e["name"]).to_owned(), s(&e["value"]).to_owned()))
            .collect();
        let mut wanted = expected_environment(plan);
        // The claim on an upload lasts as long as the stream's job may run.
        wanted.insert(
            "INGEST_LEASE_SECONDS".to_owned(),
            pipeline["timeout_seconds"].to_string(),
        );
        let differing: Vec<_> = environment
            .iter()
            .filter(|(k, v)| wanted.get(*k) != Some(v))
            .chain(wanted.iter().filter(|(k, _)| !environment.contains_key(*k)))
            .collect();
        check!(
            p,
            differing.is_empty(),
            "{name}: environment differs in {differing:?}"
        );
        let secrets: BTreeMap<String, String> = cp["secrets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| (s(&e["name"]).to_owned(), s(&e["valueFrom"]).to_owned()))
            .collect();
        let smtp = r("aws_secretsmanager_secret", "smtp", None, "arn");
        let expected_secrets = BTreeMap::from([
            (
                "INGEST_INDEX_URL".to_owned(),
                r("aws_secretsmanager_secret", "index_url", None, "arn"),
            ),
            (
                "INGEST_SMTP_PASSWORD".to_owned(),
                format!("{smtp}:password::"),
            ),
            (
                "INGEST_SMTP_USERNAME".to_owned(),
                format!("{smtp}:username::"),
            ),
        ]);
        check!(
            p,
            secrets == expected_secrets,
            "{name}: secrets {secrets:?}"
        );
        check!(
            p,
            secrets.keys().all(|k| !environment.contains_key(k)),
            "{name}: a secret is also a plain environment variable"
        );

        check!(
            p,
            cp["readonlyRootFilesystem"] == json!(true),
            "{name}: root filesystem is writable"
        );
        let volumes: BTreeSet<&str> = cp["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| s(&v["name"]))
            .collect();
        let work_dir = environment
            .get("INGEST_WORK_DIR")
            .cloned()
            .unwrap_or_default();
        let mounted = cp["mountPoints"].as_array().into_iter().flatten().any(|m| {
            s(&m["containerPath"]) == work_dir
                && volumes.contains(s(&m["sourceVolume"]))
                && m["readOnly"] == json!(false)
        });
        check!(
            p,
            mounted,
            "{name}: INGEST_WORK_DIR {work_dir} is not a writable volume"
        );

        let resources: BTreeMap<&str, &str> = cp["resourceRequirements"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| (s(&r["type"]), s(&r["value"])))
            .collect();
        let vcpu = pipeline["vcpu"].as_f64().unwrap();
        check!(
            p,
            resources.get("VCPU").and_then(|v| v.parse::<f64>().ok()) == Some(vcpu),
            "{name}: VCPU {resources:?} is not {vcpu}"
        );
        check!(
            p,
            resources.get("MEMORY").map(|m| m.to_string()) == Some(pipeline["memory"].to_string()),
            "{name}: MEMORY {resources:?}"
        );
        check!(
            p,
            cp["ephemeralStorage"]["sizeInGiB"] == pipeline["ephemeral_storage_gib"],
            "{name}: ephemeral storage"
        );
        check!(
            p,
            block(definition, "timeout")["attempt_duration_seconds"] == pipeline["timeout_seconds"],
            "{name}: timeout is not the pipeline's timeout_seconds"
        );
        check!(
            p,
            s(&cp["jobRoleArn"]) == r("aws_iam_role", "job", None, "arn"),
            "{name}: job role"
        );
        check!(
            p,
            s(&cp["executionRoleArn"]) == r("aws_iam_role", "execution", None, "arn"),
            "{name}: execution role"
        );
        check!(
            p,
            s(&cp["logConfiguration"]["options"]["awslogs-group"])
                == r("aws_cloudwatch_log_group", "jobs", None, "name"),
            "{name}: logs go elsewhere"
        );
        check!(
            p,
            s(&cp["image"])
                == format!(
                    "{}:{}",
                    r("aws_ecr_repository", "this", None, "repository_url"),
                    s(&plan.vars["image_tag"])
                ),
            "{name}: image {}",
            cp["image"]
        );
    }
    p
}

/// Exit code 75 and platform failures are retried; 1, 2 and 70 never are (DESIGN.md).
fn check_retry_strategy(plan: &Plan) -> Vec<String> {
    let mut p = Vec::new();
    let cases = [
        (
            Failure {
                exit_code: Some(75),
                reason: "Essential container in task exited",
                status_reason: "",
            },
            Decision::Retry,
        ),
        (
            Failure {
                exit_code: Some(1),
                reason: "Essential container in task exited",
                status_reason: "",
            },
            Decision::Exit,
        ),
        (
            Failure {
                exit_code: Some(2),
                reason: "Essential container in task exited",
                status_reason: "",
            },
            Decision::Exit,
        ),
        (
            Failure {
                exit_code: Some(70),
                reason: "Essential container in task exited",
                status_reason: "",
            },
            Decision::Exit,
        ),
        (
            Failure {
                exit_code: Some(137),
                reason: "OutOfMemoryError: Container killed due to memory usage",
                status_reason: "",
            },
            Decision::Exit,
        ),
        (
            Failure {
                exit_code: None,
                reason: "",
                status_reason: "Host EC2 (instance i-0abc) terminated.",
            },
            Decision::Retry,
        ),
        (
            Failure {
                exit_code: None,
                reason: "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
                status_reason: "",
            },
            Decision::Retry,
        ),
        (
            Failure {
                exit_code: None,
                reason: "",
                status_reason: "Task failed to start",
            },
            Decision::Retry,
        ),
        (
            Failure {
                exit_code: None,
                reason: "ResourceInitializationError: unable to pull secrets or registry auth",
                status_reason: "",
            },
            Decision::Retry,
        ),
    ];
    let exit_code_glob = Regex::new(r"^[0-9]*\*?$").unwrap();
    for (name, _) in plan.pipelines() {
        let strategy = block(
            plan.at("aws_batch_job_definition", "pipeline", &name),
            "retry_strategy",
        );
        let attempts = strategy["attempts"].as_u64().unwrap_or(0);
        check!(
            p,
            attempts >= 2 && plan.vars["retry_attempts"] == attempts,
            "{name}: {attempts} attempts leave nothing to retry"
        );
        let rules = strategy["evaluate_on_exit"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        check!(
            p,
            !rules.is_empty() && rules.len() <= 5,
            "{name}: {} evaluate_on_exit rules (Batch takes 1 to 5)",
            rules.len()
        );
        for rule in &rules {
            if let Some(code) = rule.get("on_exit_code").and_then(Json::as_str) {
                check!(
                    p,
                    exit_code_glob.is_match(code) && !code.is_empty(),
                    "{name}: on_exit_code {code:?} is not digits with an optional trailing *"
                );
            }
        }
        for (failure, wanted) in &cases {
            let got = batch_decision(&rules, failure);
            check!(
                p,
                got == *wanted,
                "{name}: exit {:?} / {:?} / {:?} -> {got:?}, want {wanted:?}",
                failure.exit_code,
                failure.reason,
                failure.status_reason
            );
        }
    }
    p
}

/// (action, resource) pairs an IAM policy document allows.
fn allowed(doc: &Json) -> BTreeSet<(String, String)> {
    doc["statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|st| st.get("effect").is_none_or(|e| e == "Allow"))
        .flat_map(|st| {
            let actions: Vec<String> = st["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| s(a).to_owned())
                .collect();
            let resources: Vec<String> = st["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| s(r).to_owned())
                .collect();
            actions
                .into_iter()
                .flat_map(move |a| resources.clone().into_iter().map(move |r| (a.clone(), r)))
        })
        .collect()
}

fn pairs(actions: &[&str], resource: &str) -> Vec<(String, String)> {
    actions
        .iter()
        .map(|a| (a.to_string(), resource.to_owned()))
        .collect()
}

/// No Allow statement uses a wildcard action, or "*" as resource where the action takes a
/// specific one; every other resource is an ARN of this module's resources; only the public
/// bucket lets anyone in, and only to read objects.
fn check_iam_wildcards(plan: &Plan) -> Vec<String> {
    let mut p = Vec::new();
    let key_policies: BTreeSet<String> = plan
        .resource("aws_kms_key", "this")
        .values()
        .map(|k| s(&k["policy"]).to_owned())
        .collect();
    for (address, instances) in plan
        .instances
        .iter()
        .filter(|(a, _)| a.data && a.ty == "aws_iam_policy_document")
    {
        for (key, doc) in instances {
            let id = r(
                "data.aws_iam_policy_document",
                &address.name,
                key.as_deref(),
                "json",
            );
            let is_key_policy = key_policies.contains(&id);
            for st in doc["statement"].as_array().into_iter().flatten() {
                if st.get("effect").is_some_and(|e| e == "Deny") {
                    continue;
                }
                let sid = s(&st["sid"]);
                let actions: Vec<&str> = st["actions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(s)
                    .collect();
                let root_of_key = is_key_policy
                    && sid == "AccountAdministersKey"
                    && st["principals"][0]["identifiers"]
                        == json!([format!("arn:aws:iam::{ACCOUNT}:root")]);
                for action in &actions {
                    check!(
                        p,
                        !action.contains('*') || root_of_key,
                        "{id} {sid}: wildcard action {action}"
                    );
                }
                for resource in st["resources"].as_array().into_iter().flatten().map(s) {
                    if resource == "*" {
                        let resourceless = actions.iter().all(|a| RESOURCELESS_ACTIONS.contains(a));
                        check!(
                            p,
                            is_key_policy || resourceless,
                            "{id} {sid}: resource \"*\" for {actions:?}"
                        );
                    } else {
                        check!(
                            p,
                            resource.starts_with("aws_"),
                            "{id} {sid}: resource {resource} is not an ARN of this module's resources"
                        );
                    }
                }
                for principal in st["principals"].as_array().into_iter().flatten() {
                    if principal["identifiers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|i| i == "*")
                    {
                        let public_read = address.name == "bucket"
                            && key.as_deref() == Some("public")
                            && actions == ["s3:GetObject"];
                        check!(p, public_read, "{id} {sid}: allows anyone {actions:?}");
                    }
                }
            }
        }
    }
    for ty in [
        "aws_iam_role_policy_attachment",
        "aws_iam_policy_attachment",
        "aws_iam_policy",
    ] {
        check!(
            p,
            !plan.instances.keys().any(|a| a.ty == ty),
            "{ty}: use inline policies written for this module"
        );
    }
    p
}

/// The job role may read and remove uploads, write the stores, send results: nothing else. The
/// execution role starts the task. Each pipe role reads its own queue and submits its own jobs.
fn check_roles(plan: &Plan) -> Vec<String> {
    let mut p = Vec::new();
    let bucket = |role: &str| r("aws_s3_bucket", "this", Some(role), "arn");
    let key = r("aws_kms_key", "this", None, "arn");
    let (incoming, archive, public, error) = (
        bucket("incoming"),
        bucket("archive"),
        bucket("public"),
        bucket("error"),
    );

    let mut job: Vec<(String, String)> = Vec::new();
    job.extend(pairs(
        &["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject"],
        &format!("{incoming}/*"),
    ));
    for b in [&incoming, &archive, &public, &error] {
        job.extend(pairs(&["s3:ListBucket"], b));
    }
    job.extend(pairs(
        &["s3:GetObject", "s3:PutObject"],
        &format!("{archive}/*"),
    ));
    job.extend(pairs(
        &[
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:DeleteObjectVersion",
        ],
        &format!("{public}/*"),
    ));
    job.extend(pairs(
        &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        &format!("{error}/errors/*"),
    ));
    job.extend(pairs(
        &["s3:GetObject", "s3:PutObject"],
        &format!("{error}/reports/*"),
    ));
    job.extend(pairs(
        &["sqs:SendMessage"],
        &r("aws_sqs_queue", "results", None, "arn"),
    ));
    job.extend(pairs(&["kms:Decrypt", "kms:GenerateDataKey"], &key));
    let job_actual = allowed(plan.doc("job", None));
    let job_expected: BTreeSet<_> = job.into_iter().collect();
    if job_actual != job_expected {
        p.push(format!(
            "job role: extra {:?}, missing {:?}",
            job_actual.difference(&job_expected).collect::<Vec<_>>(),
            job_expected.difference(&job_actual).collect::<Vec<_>>()
        ));
    }

    let mut execution: Vec<(String, String)> = Vec::new();
    execution.extend(pairs(&["ecr:GetAuthorizationToken"], "*"));
    execution.extend(pairs(
        &[
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
        ],
        &r("aws_ecr_repository", "this", None, "arn"),
    ));
    execution.extend(pairs(
        &["logs:CreateLogStream", "logs:PutLogEvents"],
        &format!(
            "{}:log-stream:*",
            r("aws_cloudwatch_log_group", "jobs", None, "arn")
        ),
    ));
    execution.extend(pairs(
        &["secretsmanager:GetSecretValue"],
        &r("aws_secretsmanager_secret", "index_url", None, "arn"),
    ));
    execution.extend(pairs(
        &["secretsmanager:GetSecretValue"],
        &r("aws_secretsmanager_secret", "smtp", None, "arn"),
    ));
    execution.extend(pairs(&["kms:Decrypt"], &key));
    let execution_actual = allowed(plan.doc("execution", None));
    let execution_expected: BTreeSet<_> = execution.into_iter().collect();
    if execution_actual != execution_expected {
        p.push(format!(
            "execution role: extra {:?}, missing {:?}",
            execution_actual
                .difference(&execution_expected)
                .collect::<Vec<_>>(),
            execution_expected
                .difference(&execution_actual)
                .collect::<Vec<_>>()
        ));
    }

    // Which document each role gets, and that no other policy is attached to it.
    let role_policies: Vec<(String, String)> = plan
        .instances
        .iter()
        .filter(|(a, _)| !a.data && a.ty == "aws_iam_role_policy")
        .flat_map(|(_, i)| i.values())
        .map(|rp| (s(&rp["role"]).to_owned(), s(&rp["policy"]).to_owned()))
        .collect();
    let mut wanted = vec![
        (
            r("aws_iam_role", "job", None, "id"),
            r("data.aws_iam_policy_document", "job", None, "json"),
        ),
        (
            r("aws_iam_role", "execution", None, "id"),
            r("data.aws_iam_policy_document", "execution", None, "json"),
        ),
    ];

    for (name, _) in plan.pipelines() {
        let queue = r("aws_sqs_queue", "pipeline", Some(&name), "arn");
        let mut pipe: Vec<(String, String)> = pairs(
            &[
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
            ],
            &queue,
        );
        pipe.extend(pairs(&["kms:Decrypt"], &key));
        pipe.extend(pairs(
            &["batch:SubmitJob"],
            &r("aws_batch_job_queue", "this", None, "arn"),
        ));
        pipe.extend(pairs(
            &["batch:SubmitJob"],
            &format!(
                "{}:*",
                r(
                    "aws_batch_job_definition",
                    "pipeline",
                    Some(&name),
                    "arn_prefix"
                )
            ),
        ));
        let actual = allowed(plan.doc("pipe", Some(&name)));
        let expected: BTreeSet<_> = pipe.into_iter().collect();
        if actual != expected {
            p.push(format!(
                "pipe role {name}: extra {:?}, missing {:?}",
                actual.difference(&expected).collect::<Vec<_>>(),
                expected.difference(&actual).collect::<Vec<_>>()
            ));
        }
        let pipe_resource = plan.at("aws_pipes_pipe", "pipeline", &name);
        check!(
            p,
            s(&pipe_resource["role_arn"]) == r("aws_iam_role", "pipe", Some(&name), "arn"),
            "{name}: the pipe runs as {}",
            pipe_resource["role_arn"]
        );
        let trust = block(plan.doc("pipes_assume", Some(&name)), "statement");
        let trusted_pipe = format!(
            "arn:aws:pipes:{REGION}:{ACCOUNT}:pipe/{}",
            s(&pipe_resource["name"])
        );
        check!(
            p,
            trust["condition"][0]["values"] == json!([trusted_pipe]),
            "{name}: the pipe role trusts {} rather than its pipe",
            trust["condition"][0]["values"]
        );
        wanted.push((
            r("aws_iam_role", "pipe", Some(&name), "id"),
            r("data.aws_iam_policy_document", "pipe", Some(&name), "json"),
        ));
    }
    let actual: BTreeSet<_> = role_policies.into_iter().collect();
    let wanted: BTreeSet<_> = wanted.into_iter().collect();
    check!(
        p,
        actual == wanted,
        "role policies {actual:?}, want {wanted:?}"
    );
    p
}

/// Four versioned, encrypted buckets; public access blocked except anonymous read of the
/// public bucket; TLS required; lifecycle on incoming and error.
fn check_storage(plan: &Plan) -> Vec<String> {
    let mut p = Vec::new();
    let key = r("aws_kms_key", "this", None, "arn");
    let roles = ["archive", "error", "incoming", "public"];
    let buckets: BTreeSet<String> = plan
        .resource("aws_s3_bucket", "this")
        .keys()
        .flatten()
        .cloned()
        .collect();
    check!(
        p,
        buckets == roles.iter().map(|r| r.to_string()).collect(),
        "buckets {buckets:?}"
    );
    for role in roles {
        let versioning = block(
            plan.at("aws_s3_bucket_versioning", "this", role),
            "versioning_configuration",
        );
        check!(
            p,
            versioning["status"] == "Enabled",
            "{role}: versioning {}",
            versioning["status"]
        );
        let encryption = if role == "public" {
            plan.one(
                "aws_s3_bucket_server_side_encryption_configuration",
                "public",
            )
        } else {
            plan.at(
                "aws_s3_bucket_server_side_encryption_configuration",
                "private",
                role,
            )
        };
        let sse = block(
            block(encryption, "rule"),
            "apply_server_side_encryption_by_default",
        );
        let id = r("aws_s3_bucket", "this", Some(role), "id");
        check!(
            p,
            s(&encryption["bucket"]) == id,
            "{role}: encryption configured on another bucket"
        );
        if role == "public" {
            check!(
                p,
                sse["sse_algorithm"] == "AES256",
                "public: objects must be readable without a KMS key"
            );
        } else {
            check!(
                p,
                sse["sse_algorithm"] == "aws:kms" && s(&sse["kms_master_key_id"]) == key,
                "{role}: not encrypted with the module's key"
            );
        }
        let block_all = if role == "public" {
            plan.one("aws_s3_bucket_public_access_block", "public")
        } else {
            plan.at("aws_s3_bucket_public_access_block", "private", role)
        };
        check!(
            p,
            s(&block_all["bucket"]) == id,
            "{role}: public access block on another bucket"
        );
        let acls = block_all["block_public_acls"] == json!(true)
            && block_all["ignore_public_acls"] == json!(true);
        let policies = block_all["block_public_policy"] == json!(true)
            && block_all["restrict_public_buckets"] == json!(true);
        check!(
            p,
            acls && (policies || role == "public"),
            "{role}: public access is not blocked"
        );
        let statements = plan.doc("bucket", Some(role))["statement"].clone();
        let denies_plain_http = statements.as_array().into_iter().flatten().any(|st| {
            st["effect"] == "Deny"
                && st["condition"][0]["variable"] == "aws:SecureTransport"
                && st["condition"][0]["values"] == json!(["false"])
        });
        check!(p, denies_plain_http, "{role}: plain HTTP is not denied");
        let lifecycle = plan.at("aws_s3_bucket_lifecycle_configuration", "this", role);
        let rules = lifecycle["rule"].as_array().cloned().unwrap_or_default();
        check!(
            p,
            rules
                .iter()
                .any(|r| r.get("abort_incomplete_multipart_upload").is_some()),
            "{role}: incomplete uploads are never cleaned up"
        );
        if role == "incoming" {
            let days = rules
                .iter()
                .find_map(|r| r.get("noncurrent_version_expiration"))
                .map(|n| n[0]["noncurrent_days"].clone());
            check!(
                p,
                days == Some(plan.vars["incoming_noncurrent_version_days"].clone()),
                "incoming: noncurrent versions are not expired"
            );
        }
        if role == "error" {
            let days = rules
                .iter()
                .find_map(|r| r.get("expiration"))
                .map(|e| e[0]["days"].clone());
            check!(
                p,
                days == Some(plan.vars["error_retention_days"].clone()),
                "error: retention is not error_retention_days"
            );
        }
    }
    let public_read = allowed(plan.doc("bucket", Some("public")));
    check!(
        p,
        public_read
            == BTreeSet::from([(
                "s3:GetObject".to_owned(),
                format!("{}/*", r("aws_s3_bucket", "this", Some("public"), "arn")),
            )]),
        "public bucket allows {public_read:?}"
    );
    p
}

/// Failed jobs other than rejected inputs reach the alarm topic, and the alarm watches that rule.
fn check_failed_job_alarm(plan: &Plan) -> Vec<String> {
    let mut p = Vec::new();
    let rule = plan.one("aws_cloudwatch_event_rule", "job_failed");
    let pattern: Json = serde_json::from_str(s(&rule["event_pattern"])).unwrap_or(Json::Null);
    let job_queue = r("aws_batch_job_queue", "this", None, "arn");
    let event = |status: &str, queue: &str, exit_code: Option<i64>| {
        let container = exit_code.map_or(
            json!({ "reason": "CannotPullContainerError" }),
            |c| json!({ "exitCode": c }),
        );
        json!({ "source": "aws.batch", "detail-type": "Batch Job State Change", "detail": { "status": status, "jobQueue": queue, "container": container } })
    };
    let cases = [
        (event("FAILED", &job_queue, Some(70)), true),
        (event("FAILED", &job_queue, Some(2)), true),
        (event("FAILED", &job_queue, Some(75)), true),
        (event("FAILED", &job_queue, None), true),
        (event("FAILED", &job_queue, Some(1)), false),
        (event("SUCCEEDED", &job_queue, Some(0)), false),
        (
            event(
                "FAILED",
                "arn:aws:batch:ap-southeast-2:111122223333:job-queue/other",
                Some(70),
            ),
            false,
        ),
    ];
    for (event, wanted) in cases {
        check!(
            p,
            pattern_matches(&pattern, &event) == wanted,
            "failed-job rule on {event}: want match = {wanted}"
        );
    }
    let target = plan.one("aws_cloudwatch_event_target", "job_failed");
    let topic = r("aws_sns_topic", "alarms", None, "arn");
    check!(
        p,
        s(&target["rule"]) == r("aws_cloudwatch_event_rule", "job_failed", None, "name")
            && s(&target["arn"]) == topic,
        "failed-job events do not reach the alarm topic"
    );
    let alarm = plan.one("aws_cloudwatch_metric_alarm", "failed_jobs");
    check!(
        p,
        s(&alarm["dimensions"]["RuleName"])
            == r("aws_cloudwatch_event_rule", "job_failed", None, "name")
            && alarm["alarm_actions"] == json!([topic]),
        "the failed-jobs alarm does not watch the rule"
    );
    p
}

fn assert_no_problems(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn each_pipeline_prefix_reaches_the_job_queue_through_its_own_queue_and_pipe() {
    let plan = Plan::example();
    assert!(
        plan.pipelines().len() >= 2,
        "the example should show more than one pipeline"
    );
    assert_no_problems(check_wiring(&plan));
}

#[test]
fn every_queue_has_its_own_dead_letter_queue_with_an_alarm() {
    assert_no_problems(check_dead_letter_queues(&Plan::example()));
}

#[test]
fn job_definitions_run_the_ingest_command_with_what_the_binary_reads() {
    assert_no_problems(check_job_definitions(&Plan::example()));
}

#[test]
fn retry_strategy_retries_transient_and_platform_failures_only() {
    assert_no_problems(check_retry_strategy(&Plan::example()));
}

#[test]
fn iam_statements_name_specific_actions_and_resources() {
    assert_no_problems(check_iam_wildcards(&Plan::example()));
}

#[test]
fn roles_get_exactly_what_their_part_of_the_flow_needs() {
    assert_no_problems(check_roles(&Plan::example()));
}

#[test]
fn buckets_are_versioned_encrypted_and_private_except_public_read() {
    assert_no_problems(check_storage(&Plan::example()));
}

#[test]
fn failed_jobs_other_than_rejections_raise_the_alarm() {
    assert_no_problems(check_failed_job_alarm(&Plan::example()));
}

#[test]
fn the_example_passes_every_variable_validation() {
    let plan = Plan::example();
    assert!(
        plan.validations.len() >= 8,
        "expected the pipelines map to be validated"
    );
    assert_eq!(plan.failed_validations(), Vec::<String>::new());
}

fn with_pipeline(name: &str, pipeline: Value) -> hcl::Map<String, Value> {
    let mut inputs = example_inputs(&example_sources());
    inputs
        .get_mut("pipelines")
        .unwrap()
        .as_object_mut()
        .unwrap()
        .insert(name.to_owned(), pipeline);
    inputs
}

#[test]
fn extra_environment_cannot_replace_what_the_module_derives() {
    let mut inputs = example_inputs(&example_sources());
    inputs.insert(
        "extra_environment".to_owned(),
        hcl::value!({ INGEST_WORK_DIR = "/var/lib/ingest", RUST_LOG = "debug" }),
    );
    let plan = Plan::new(&module_sources(), inputs).unwrap();
    let cp = container_properties(&plan, "anmn_nrs");
    let env: BTreeMap<&str, &str> = cp["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (s(&e["name"]), s(&e["value"])))
        .collect();
    assert_eq!(env["INGEST_WORK_DIR"], "/tmp");
    assert_eq!(env["RUST_LOG"], "debug");
}

#[test]
fn overlapping_key_prefixes_are_rejected() {
    // ANMN/ would also own every ANMN/NRS/ upload, and S3 refuses overlapping notification rules.
    let plan = Plan::new(
        &module_sources(),
        with_pipeline("anmn", hcl::value!({ key_prefix = "ANMN/" })),
    )
    .unwrap();
    let failed = plan.failed_validations();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("must not overlap"), "{failed:?}");
}

#[test]
fn key_prefix_must_be_a_folder() {
    let plan = Plan::new(
        &module_sources(),
        with_pipeline("abos", hcl::value!({ key_prefix = "ABOS" })),
    )
    .unwrap();
    assert!(
        plan.failed_validations()
            .iter()
            .any(|f| f.contains("ends with '/'")),
        "{:?}",
        plan.failed_validations()
    );
}

#[test]
fn a_misspelt_pipeline_setting_is_an_error_not_a_silent_default() {
    let error = Plan::new(
        &module_sources(),
        with_pipeline("abos", hcl::value!({ key_prefix = "ABOS/", vcpus = 2 })),
    )
    .err()
    .expect("vcpus is not a setting");
    assert!(error.contains("var.pipelines.abos.vcpus"), "{error}");
}

#[test]
fn variables_and_outputs_are_typed_and_described() {
    for (dir, sources) in [
        ("infra", module_sources()),
        ("infra/examples/complete", example_sources()),
    ] {
        for block in parse(&sources) {
            match block.identifier() {
                "variable" => {
                    assert!(
                        attr(&block, "type").is_some(),
                        "{dir}: variable {} has no type",
                        label(&block, 0)
                    );
                    let description = attr(&block, "description")
                        .map(|d| d.to_string())
                        .unwrap_or_default();
                    assert!(
                        description.len() > 12,
                        "{dir}: variable {} has no description",
                        label(&block, 0)
                    );
                }
                "output" => assert!(
                    attr(&block, "description").is_some(),
                    "{dir}: output {} has no description",
                    label(&block, 0)
                ),
                _ => {}
            }
        }
    }
}

#[test]
fn terraform_and_provider_versions_are_bounded() {
    for (dir, sources) in [
        ("infra", module_sources()),
        ("infra/examples/complete", example_sources()),
    ] {
        let terraform = parse(&sources)
            .into_iter()
            .find(|b| b.identifier() == "terraform")
            .unwrap_or_else(|| panic!("{dir}: no terraform block"));
        assert!(
            attr(&terraform, "required_version").is_some(),
            "{dir}: no required_version"
        );
        let providers = terraform
            .body()
            .blocks()
            .find(|b| b.identifier() == "required_providers")
            .unwrap();
        let aws = to_json(
            &attr(providers, "aws")
                .unwrap()
                .evaluate(&Context::new())
                .unwrap(),
        );
        assert_eq!(aws["source"], "hashicorp/aws", "{dir}");
        let version = s(&aws["version"]);
        assert!(
            version.contains("~>") || (version.contains(">=") && version.contains('<')),
            "{dir}: aws provider version {version:?} has no upper bound"
        );
    }
}

/// The image and the job definition agree: entry point, user, where pipelines.toml is.
#[test]
fn image_matches_what_the_job_definition_expects() {
    let dockerfile = fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let plan = Plan::example();
    let final_stage = dockerfile
        .split("\nFROM ")
        .filter(|stage| stage.contains(" AS runtime-base"))
        .collect::<Vec<_>>();
    assert_eq!(final_stage.len(), 1, "one runtime-base stage");
    let stage = final_stage[0];
    assert!(
        stage.contains("ENTRYPOINT [\"ocean-ingest\"]"),
        "exec-form entry point"
    );
    let user = stage
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "runs as {user}"
    );
    let config = s(&plan.vars["pipelines_config_path"]);
    assert!(
        stage
            .lines()
            .any(|l| l.starts_with("COPY ") && l.ends_with(&format!(" {config}"))),
        "pipelines.toml is not copied to {config}"
    );
    assert!(
        dockerfile.contains("FROM runtime-base AS runtime-prebuilt")
            && dockerfile.contains("FROM runtime-base AS runtime\n"),
        "runtime and runtime-prebuilt stages share runtime-base"
    );
    for (name, _) in plan.pipelines() {
        assert_eq!(
            container_properties(&plan, &name)["command"][0],
            "run",
            "the job's command goes after the image's entry point"
        );
    }
}

/// Files under `dir` (recursively) with the extension `ext`.
fn files_with_extension(dir: &std::path::Path, ext: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_with_extension(&path, ext));
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    out
}

/// The Dockerfile's build stage compiles the crate from a context limited by .dockerignore: every
/// file the sources `include_str!` must be both in the context and copied into the stage.
#[test]
fn image_build_stage_has_every_file_the_crate_includes() {
    let root = repo();
    let include = Regex::new(r#"include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)"#).unwrap();
    let mut included = BTreeSet::new();
    for file in files_with_extension(&root.join("src"), "rs") {
        let text = fs::read_to_string(&file).unwrap();
        for caps in include.captures_iter(&text) {
            let path = file.parent().unwrap().join(&caps[1]);
            let path = path
                .canonicalize()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            included.insert(
                path.strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    included.extend([
        "Cargo.toml".to_owned(),
        "Cargo.lock".to_owned(),
        "src/main.rs".to_owned(),
    ]);

    let dockerfile = fs::read_to_string(root.join("Dockerfile")).unwrap();
    let build_stage = dockerfile
        .split("\nFROM ")
        .find(|stage| stage.contains(" AS build\n"))
        .expect("a build stage");
    let copied: Vec<&str> = build_stage
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--from"))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    let context: Vec<String> = fs::read_to_string(root.join(".dockerignore"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix('!'))
        .map(str::to_owned)
        .collect();
    let covered = |patterns: &[&str], path: &str| {
        patterns.iter().any(|p| {
            let p = p.trim_end_matches('/');
            path == p || path.starts_with(&format!("{p}/"))
        })
    };
    let context: Vec<&str> = context.iter().map(String::as_str).collect();
    for path in &included {
        assert!(
            covered(&copied, path),
            "the build stage does not COPY {path}"
        );
        assert!(
            covered(&context, path),
            ".dockerignore leaves {path} out of the context"
        );
    }
}

// --- the checks fail on a broken module --------------------------------------------------------

fn problems_after(
    file: &str,
    from: &str,
    to: &str,
    check: fn(&Plan) -> Vec<String>,
) -> Vec<String> {
    let sources = mutated(&module_sources(), file, from, to);
    let plan =
        Plan::new(&sources, example_inputs(&example_sources())).unwrap_or_else(|e| panic!("{e}"));
    check(&plan)
}

#[test]
fn wiring_check_catches_a_pipe_reading_another_pipelines_queue() {
    let problems = problems_after(
        "pipes.tf",
        "source      = aws_sqs_queue.pipeline[each.key].arn",
        "source      = aws_sqs_queue.pipeline[\"anmn_nrs\"].arn",
        check_wiring,
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("srs_altimetry: the pipe reads")),
        "{problems:?}"
    );
}

#[test]
fn wiring_check_catches_a_notification_without_its_prefix() {
    let problems = problems_after(
        "queues.tf",
        "filter_prefix = queue.value.key_prefix",
        "filter_prefix = \"\"",
        check_wiring,
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("0 notification rules for prefix")),
        "{problems:?}"
    );
}

#[test]
fn dead_letter_check_catches_a_queue_without_redrive() {
    let sources = module_sources();
    let queues = &sources.iter().find(|(n, _)| n == "queues.tf").unwrap().1;
    let start = queues.find("  redrive_policy = jsonencode({\n    deadLetterTargetArn = aws_sqs_queue.results_dlq.arn").expect("results redrive policy");
    let end = start + queues[start..].find("  })\n").unwrap() + 5;
    let problems = problems_after(
        "queues.tf",
        &queues[start..end],
        "",
        check_dead_letter_queues,
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("results\"") || p.contains("results.arn has no dead-letter queue")),
        "{problems:?}"
    );
}

#[test]
fn retry_check_catches_a_retried_internal_error() {
    let problems = problems_after(
        "batch.tf",
        "on_exit_code = \"75\"",
        "on_exit_code = \"7*\"",
        check_retry_strategy,
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("exit Some(70)") && p.contains("-> Retry")),
        "{problems:?}"
    );
}

#[test]
fn retry_check_catches_a_missing_catch_all_exit() {
    let problems = problems_after(
        "batch.tf",
        "      action       = \"EXIT\"\n      on_exit_code = \"*\"",
        "      action       = \"RETRY\"\n      on_exit_code = \"0\"",
        check_retry_strategy,
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("exit Some(1)") && p.contains("-> Retry")),
        "{problems:?}"
    );
}

#[test]
fn iam_check_catches_a_wildcard_action() {
    let problems = problems_after(
        "iam.tf",
        "actions   = [\"sqs:SendMessage\"]",
        "actions   = [\"sqs:*\"]",
        check_iam_wildcards,
    );
    assert!(
        problems.iter().any(|p| p.contains("wildcard action sqs:*")),
        "{problems:?}"
    );
}

#[test]
fn iam_check_catches_a_wildcard_resource() {
    let problems = problems_after(
        "iam.tf",
        "resources = [aws_sqs_queue.results.arn]",
        "resources = [\"*\"]",
        check_iam_wildcards,
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("resource \"*\" for [\"sqs:SendMessage\"]")),
        "{problems:?}"
    );
}

#[test]
fn role_check_catches_a_job_role_that_can_read_secrets() {
    let problems = problems_after(
        "iam.tf",
        "    sid       = \"SendResultEvents\"\n    actions   = [\"sqs:SendMessage\"]\n    resources = [aws_sqs_queue.results.arn]",
        "    sid       = \"SendResultEvents\"\n    actions   = [\"sqs:SendMessage\", \"secretsmanager:GetSecretValue\"]\n    resources = [aws_sqs_queue.results.arn]",
        check_roles,
    );
    assert!(
        problems.iter().any(
            |p| p.starts_with("job role: extra") && p.contains("secretsmanager:GetSecretValue")
        ),
        "{problems:?}"
    );
}

#[test]
fn job_definition_check_catches_a_parameter_the_pipe_cannot_fill() {
    // Pipes substitutes whole JSON paths only; "s3://bucket/$.body..." would reach the job verbatim.
    let problems = problems_after(
        "main.tf",
        "key = \"$.body.Records[0].s3.object.key\"",
        "key = \"s3://incoming/$.body.Records[0].s3.object.key\"",
        check_job_definitions,
    );
    assert!(
        problems.iter().any(|p| p.contains("not a whole JSON path")),
        "{problems:?}"
    );
}

#[test]
fn storage_check_catches_an_unversioned_bucket() {
    let problems = problems_after(
        "buckets.tf",
        "status = \"Enabled\"\n  }\n}",
        "status = \"Suspended\"\n  }\n}",
        check_storage,
    );
    assert_eq!(problems.len(), 4, "{problems:?}");
}

#[test]
fn evaluation_catches_a_reference_to_a_missing_resource() {
    let sources = mutated(
        &module_sources(),
        "pipes.tf",
        "target      = aws_batch_job_queue.this.arn",
        "target      = aws_batch_job_queue.main.arn",
    );
    let error = Plan::new(&sources, example_inputs(&example_sources()))
        .err()
        .expect("aws_batch_job_queue.main does not exist");
    assert!(error.contains("aws_pipes_pipe.pipeline"), "{error}");
}
