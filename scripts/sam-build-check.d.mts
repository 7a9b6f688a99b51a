/** The esbuild command line AWS Lambda Builders builds from one function's BuildProperties. */
export declare const samEsbuildArgs: (buildProperties: Record<string, unknown>, outdir: string) => string[];
