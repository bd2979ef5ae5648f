// What every reconciler is given: the apiserver client, the status writer and
// the Event recorder (operator/main.ts builds them once per process).
import type { KubeHttp } from '../../kube/kube.ts';
import type { StatusWriter } from '../../kube/status.ts';
import type { EventRecorder } from '../../kube/events.ts';

export interface Deps {
  http: KubeHttp;
  status: StatusWriter;
  events: EventRecorder;
}
