/** The part of madge's API the layout test uses (madge ships no types). */
declare module "madge" {
    interface MadgeConfig {
        readonly baseDir?: string;
        readonly fileExtensions?: readonly string[];
        readonly tsConfig?: string;
    }
    interface MadgeResult {
        /** Each file (relative to baseDir) and the files it imports. */
        obj(): Record<string, string[]>;
    }
    function madge(paths: string | readonly string[], config?: MadgeConfig): Promise<MadgeResult>;
    export = madge;
}
