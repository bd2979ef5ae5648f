// In-memory stand-ins for the API server's Secret and ValidatingWebhookConfiguration
// endpoints, with resourceVersion checks and 409s like the real thing.
import type { V1Secret, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import type { SecretClient } from '../../../webhook/certs.ts';
import type { WebhookConfigurationWriter } from '../../../webhook/registration.ts';

export class ApiError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

const clone = <T>(v: T): T => structuredClone(v);

export class FakeSecrets implements SecretClient {
  readonly store = new Map<string, V1Secret>();
  writes = 0;
  #rv = 0;
  /** Runs before create/replace touch the store: lets a test interleave another replica. */
  beforeWrite: (() => Promise<void>) | undefined;

  async read(namespace: string, name: string) {
    const s = this.store.get(`${namespace}/${name}`);
    return s ? clone(s) : undefined;
  }
  async create(secret: V1Secret) {
    await this.beforeWrite?.();
    const key = `${secret.metadata!.namespace}/${secret.metadata!.name}`;
    if (this.store.has(key)) throw new ApiError(409, `secrets "${secret.metadata!.name}" already exists`);
    const stored = clone(secret);
    stored.metadata!.resourceVersion = String(++this.#rv);
    this.store.set(key, stored);
    this.writes++;
    return clone(stored);
  }
  async replace(secret: V1Secret) {
    await this.beforeWrite?.();
    const key = `${secret.metadata!.namespace}/${secret.metadata!.name}`;
    const current = this.store.get(key);
    if (!current) throw new ApiError(404, 'not found');
    if (current.metadata!.resourceVersion !== secret.metadata!.resourceVersion) throw new ApiError(409, 'the object has been modified');
    const stored = clone(secret);
    stored.metadata!.resourceVersion = String(++this.#rv);
    this.store.set(key, stored);
    this.writes++;
    return clone(stored);
  }
}

export class FakeWebhookConfigurations implements WebhookConfigurationWriter {
  readonly store = new Map<string, V1ValidatingWebhookConfiguration>();
  writes = 0;
  #rv = 0;
  /** Fail the next N replaces with 409, as if someone else wrote in between. */
  conflicts = 0;

  async read(name: string) {
    const c = this.store.get(name);
    return c ? clone(c) : undefined;
  }
  async create(config: V1ValidatingWebhookConfiguration) {
    const name = config.metadata!.name!;
    if (this.store.has(name)) throw new ApiError(409, 'already exists');
    const stored = clone(config);
    stored.metadata!.resourceVersion = String(++this.#rv);
    this.store.set(name, stored);
    this.writes++;
    return clone(stored);
  }
  async replace(config: V1ValidatingWebhookConfiguration) {
    const name = config.metadata!.name!;
    const current = this.store.get(name);
    if (!current) throw new ApiError(404, 'not found');
    if (this.conflicts > 0) {
      this.conflicts--;
      current.metadata!.resourceVersion = String(++this.#rv);
      throw new ApiError(409, 'the object has been modified');
    }
    if (current.metadata!.resourceVersion !== config.metadata!.resourceVersion) throw new ApiError(409, 'the object has been modified');
    const stored = clone(config);
    stored.metadata!.resourceVersion = String(++this.#rv);
    this.store.set(name, stored);
    this.writes++;
    return clone(stored);
  }
}
