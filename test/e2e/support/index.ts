// Helpers for e2e tests. Everything works against any cluster named by
// KUBECONFIG; what needs the harness's own control plane is in local.ts.
export { kubectl, kubectlBin, canI, applyYaml, applyUntilAdmitted, type KubectlOptions, type KubectlResult, type ApplyOptions } from "./kubectl.ts";
export { waitFor, uniqueName, type WaitOptions } from "./wait.ts";
export { kubeConfig, apiClient, objectApi, apiserverAddress } from "./client.ts";
export { startProcess, logDir, type ManagedProcess, type StartProcessOptions } from "./process.ts";
export { tcpProxy, kubeconfigVia, proxyToApiserver, type TcpProxy } from "./proxy.ts";
export { rawKeyOf } from "./install.ts";
export { applyStory, deleteStory, ex } from "./story.ts";
export { installCrossgate, operatorKubeconfig, serviceAccountKubeconfig, startOperator, getJson, condition, waitForCondition, ROOT, OPERATOR_NAMESPACE, type RunningOperator } from "./operator.ts";
export { startWebhook, SkippableWebhook, WEBHOOK_CONFIGURATION, type RunningWebhook as RunningWebhookProcess, type WebhookOptions } from "./webhook.ts";
export { organizationYaml, type OrganizationFixture } from "./objects.ts";
export { readGatewayConfig, type GatewayConfig } from "./gateway-config.ts";
export { startGatewayProcess, startUpstream, freePort, type RunningGateway, type Upstream } from "./gateway.ts";
export { platformEnv, type PlatformOptions } from "./platform.ts";
export { isLocalControlPlane, localOnly, restartApiserver } from "./local.ts";
