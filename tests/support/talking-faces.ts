// The multi-person clip builder lives in scripts/ (the sample-clips command uses it too); tests and
// benches keep importing it from here.
export * from '../../scripts/talking-faces.ts';
