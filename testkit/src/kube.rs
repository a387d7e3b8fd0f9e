//! A throwaway Kubernetes control plane (etcd + kube-apiserver 1.20 built by
//! `scripts/install-kube.sh`) started with `scripts/kube-up.sh` on free 127.0.0.1 ports, with
//! KEDA's ScaledObject CRD installed when asked (`KUBE_WITH_KEDA=1`). A watchdog shell holds a pipe from this
//! process and runs `scripts/kube-down.sh` when it closes, so the cluster never outlives the
//! test binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};

use crate::repo_root;

pub struct KubeCluster {
    dir: tempfile::TempDir,
    watchdog: Child,
    lifeline: Option<ChildStdin>,
}

impl KubeCluster {
    /// One cluster per test binary, with KEDA's CRD installed.
    pub fn shared() -> &'static KubeCluster {
        static CLUSTER: OnceLock<KubeCluster> = OnceLock::new();
        CLUSTER.get_or_init(|| KubeCluster::start(true))
    }

    pub fn start(with_keda: bool) -> KubeCluster {
        let dir = tempfile::tempdir().expect("cluster dir");
        let scripts = repo_root().join("scripts");
        let mut watchdog = Command::new("sh")
            .args(["-c", "\"$0/kube-up.sh\" \"$1\" || exit 1; read -r _; \"$0/kube-down.sh\" \"$1\" >/dev/null 2>&1"])
            .arg(&scripts)
            .arg(dir.path())
            .env("KUBE_WITH_KEDA", if with_keda { "1" } else { "0" })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kube-up.sh");
        let lifeline = watchdog.stdin.take();
        let mut line = String::new();
        BufReader::new(watchdog.stdout.take().expect("stdout")).read_line(&mut line).expect("kube-up output");
        assert!(line.trim().ends_with("kubeconfig"), "kube-up.sh failed (is scripts/install-kube.sh done?): {line:?}");
        KubeCluster { dir, watchdog, lifeline }
    }

    /// Kills the API server, as a crash does (etcd and the data stay).
    pub fn stop_apiserver(&self) {
        self.apiserver("stop");
    }

    /// Starts the API server again on the same port and etcd; returns once it is ready.
    pub fn start_apiserver(&self) {
        self.apiserver("start");
    }

    fn apiserver(&self, what: &str) {
        let status = Command::new(repo_root().join("scripts/kube-apiserver.sh"))
            .arg(self.dir.path())
            .arg(what)
            .status()
            .expect("run kube-apiserver.sh");
        assert!(status.success(), "kube-apiserver.sh {what} failed");
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// A proxy in front of the API server (to count or fault its requests), and a kubeconfig
    /// that reaches the server through it.
    pub fn through_proxy(&self) -> (crate::FaultProxy, PathBuf) {
        let kubeconfig = std::fs::read_to_string(self.kubeconfig()).expect("kubeconfig");
        let port: u16 = kubeconfig
            .lines()
            .find_map(|l| l.trim().strip_prefix("server: "))
            .and_then(|s| s.rsplit(':').next()?.trim_end_matches('/').parse().ok())
            .expect("API server port");
        let proxy = crate::FaultProxy::start_tls(port, &self.path().join("pki/ca.crt"));
        // The proxy shows clients a certificate of its own.
        let proxied: Vec<String> = kubeconfig
            .lines()
            .map(|l| match l.trim() {
                t if t.starts_with("server:") => format!("    server: {}", proxy.url()),
                t if t.starts_with("certificate-authority-data:") => "    insecure-skip-tls-verify: true".to_string(),
                _ => l.to_string(),
            })
            .collect();
        let path = self.path().join(format!("kubeconfig-via-{}", proxy.port));
        std::fs::write(&path, proxied.join("\n")).expect("write kubeconfig");
        (proxy, path)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
    }

    /// Runs `f` with a client for this cluster, as `kubectl` would act out of band.
    pub fn with_client<T, F, Fut>(&self, f: F) -> T
    where
        F: FnOnce(kube::Client) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        Self::with_client_of(&self.kubeconfig(), f)
    }

    /// Runs `f` with a client made from kubeconfig `path` (one from `through_proxy`, say).
    pub fn with_client_of<T, F, Fut>(path: &Path, f: F) -> T
    where
        F: FnOnce(kube::Client) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let path = path.to_path_buf();
        // rustls is built with two backends in this workspace, so name one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self::runtime().block_on(async move {
            let file = kube::config::Kubeconfig::read_from(&path).expect("kubeconfig");
            let config = kube::Config::from_custom_kubeconfig(file, &Default::default()).await.expect("kube config");
            f(kube::Client::try_from(config).expect("kube client")).await
        })
    }

    /// The object's JSON, or None.
    pub fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Option<serde_json::Value> {
        let resource = api_resource(api_version, kind);
        let (namespace, name) = (namespace.to_string(), name.to_string());
        self.with_client(|client| async move {
            let api: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &resource);
            api.get_opt(&name).await.expect("get object").map(|o| serde_json::to_value(o).expect("object JSON"))
        })
    }

    /// A merge patch as `kubectl edit` makes it.
    pub fn edit(&self, api_version: &str, kind: &str, namespace: &str, name: &str, patch: serde_json::Value) {
        self.edit_as("kubectl-edit", api_version, kind, namespace, name, patch);
    }

    /// A merge patch (an `Update` operation) under `manager`, as Helm 3 or kubectl writes.
    pub fn edit_as(&self, manager: &str, api_version: &str, kind: &str, namespace: &str, name: &str, patch: serde_json::Value) {
        let resource = api_resource(api_version, kind);
        let (manager, namespace, name) = (manager.to_string(), namespace.to_string(), name.to_string());
        self.with_client(|client| async move {
            let api: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &resource);
            api.patch(&name, &PatchParams { field_manager: Some(manager), ..Default::default() }, &Patch::Merge(&patch))
                .await
                .expect("out-of-band edit");
        });
    }

    /// A forced server-side apply of `spec` under `manager`, as Argo CD, Flux or another
    /// workspace writes (creating the object when it does not exist).
    pub fn apply_as(&self, manager: &str, api_version: &str, kind: &str, namespace: &str, name: &str, spec: serde_json::Value) {
        let resource = api_resource(api_version, kind);
        let (manager, namespace, name) = (manager.to_string(), namespace.to_string(), name.to_string());
        let manifest =
            serde_json::json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec});
        self.with_client(|client| async move {
            let api: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &resource);
            api.patch(&name, &PatchParams::apply(&manager).force(), &Patch::Apply(&manifest)).await.expect("server-side apply");
        });
    }

    /// Sets the status subresource, as the controller that owns the object would.
    pub fn set_status(&self, api_version: &str, kind: &str, namespace: &str, name: &str, status: serde_json::Value) {
        let resource = api_resource(api_version, kind);
        let (namespace, name) = (namespace.to_string(), name.to_string());
        self.with_client(|client| async move {
            let api: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &resource);
            let patch = serde_json::json!({ "status": status });
            api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("status update");
        });
    }

    pub fn delete(&self, api_version: &str, kind: &str, namespace: &str, name: &str) {
        let resource = api_resource(api_version, kind);
        let (namespace, name) = (namespace.to_string(), name.to_string());
        self.with_client(|client| async move {
            let api: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &resource);
            api.delete(&name, &Default::default()).await.expect("out-of-band delete");
        });
    }

    pub fn create_namespace(&self, name: &str) {
        let name = name.to_string();
        self.with_client(|client| async move {
            let api: Api<DynamicObject> = Api::all_with(client, &api_resource("v1", "Namespace"));
            let ns: DynamicObject =
                serde_json::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})).unwrap();
            api.patch(&name, &PatchParams::apply("scaling-tests"), &Patch::Apply(&ns)).await.expect("namespace");
        });
    }

    /// Deletes a CustomResourceDefinition (and so every object of its kind), then waits until
    /// discovery no longer lists `group`, as after `kubectl delete crd NAME`.
    pub fn remove_crd(&self, name: &str, group: &str) {
        let (name, group) = (name.to_string(), group.to_string());
        self.with_client(|client| async move {
            let api: Api<DynamicObject> =
                Api::all_with(client.clone(), &api_resource("apiextensions.k8s.io/v1", "CustomResourceDefinition"));
            api.delete(&name, &Default::default()).await.expect("delete the CRD");
            for _ in 0..300 {
                let groups = client.list_api_groups().await.expect("discovery");
                if !groups.groups.iter().any(|g| g.name == group) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            panic!("{group} still served a minute after its CRD was deleted");
        });
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The resource for `kind` (plural by the usual English rule, enough for the kinds used here).
pub fn api_resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let lower = kind.to_ascii_lowercase();
    let plural = if lower.ends_with('s') { format!("{lower}es") } else { format!("{lower}s") };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural)
}

impl Drop for KubeCluster {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let _ = self.watchdog.wait();
    }
}
