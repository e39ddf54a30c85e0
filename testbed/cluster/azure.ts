/**
 * Azure's part: Key Vault keeps every version of each secret, the newest read by default; the Flexible Server's admin password, databases
 * and static parameters are applied to the local PostgreSQL.
 */
import type { RecordedResource } from "../../offline/mockEngine";
import type { LifecyclePostgres } from "../postgres";
import { keyVaultVersion } from "../../components/secretSync/spec";
import { TYPES } from "../plan";
import type { HandlerTable, Step } from "./applier";
import type { ClusterState } from "./state";

/** Stores a Key Vault secret's value; @returns whether it is a new version. */
export function writeVault(state: ClusterState, r: RecordedResource): boolean {
    const value = String(r.inputs.properties?.value ?? "");
    const version = String(r.outputs.properties?.secretUriWithVersion ?? "");
    const old = state.vault.get(r.inputs.secretName);
    const versions = new Map(old?.versions ?? []).set(keyVaultVersion(version), value);
    state.vault.set(r.inputs.secretName, { value, version, versions });
    return old?.version !== version;
}

export class Azure {
    constructor(
        private readonly state: ClusterState,
        /** The local PostgreSQL playing the Flexible Server of that name (the stack's first when none is given). */
        private readonly postgres: (serverName?: string) => LifecyclePostgres,
        /** ESO's reaction to a new Key Vault version (eso.ts `vaultSecretWritten`). */
        private readonly onVaultWrite: (secretName: string) => Promise<void>,
    ) {}

    handlers(): HandlerTable {
        return {
            [TYPES.vaultSecret]: {
                exists: async (r) => this.state.vault.has(r.inputs.secretName),
                apply: async ({ resource, name }) => {
                    if (writeVault(this.state, resource)) {
                        await this.onVaultWrite(name);
                    }
                    return true;
                },
                remove: async (r) => {
                    this.state.vault.delete(r.inputs.secretName);
                },
            },
            [TYPES.pgServer]: { apply: (s) => this.server(s) },
            [TYPES.pgDatabase]: {
                exists: (r) => this.postgres(r.inputs.serverName).hasDatabase(r.inputs.databaseName),
                apply: (s) => this.database(s),
            },
            [TYPES.pgConfiguration]: { apply: (s) => this.configuration(s) },
        };
    }

    private async server({ resource: r, was }: Step): Promise<boolean> {
        const password = r.inputs.administratorLoginPassword;
        if (was && was.resource.inputs.administratorLoginPassword !== password) {
            await this.state.timeline.emit(`Azure sets the new password of admin ${r.inputs.administratorLogin}`, () =>
                this.postgres(r.inputs.serverName).setAdminPassword(password),
            );
        }
        return true;
    }

    private async database({ resource: r, was }: Step): Promise<boolean> {
        // A new databaseName replaces the database (ARM: create the new one; the old is retained).
        if (!was || was.resource.inputs.databaseName !== r.inputs.databaseName) {
            await this.state.timeline.emit(`Azure creates database ${r.inputs.databaseName}`, async () => ({
                created: await this.postgres(r.inputs.serverName).createDatabase(r.inputs.databaseName),
            }));
        }
        return true;
    }

    private async configuration({ resource: r }: Step): Promise<boolean> {
        const parameter = r.inputs.configurationName;
        if (parameter === "max_connections") {
            // Static on Azure: stored now, effective at the next restart (which the harness performs at once).
            await this.state.timeline.emit(
                `Azure sets static parameter ${parameter}=${r.inputs.value}; server restarted`,
                async () => {
                    await this.postgres(r.inputs.serverName).setParameter(parameter, r.inputs.value, true);
                    return { [parameter]: await this.postgres(r.inputs.serverName).show(parameter) };
                },
            );
        }
        return true;
    }
}
