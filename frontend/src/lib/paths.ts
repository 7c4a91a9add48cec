// Every page's URL. The gateway serves its API at the root (`GET /jobs/12` answers JSON), so the pages
// that would share a path with the API live under /app (`/app/jobs/12`); the gateway answers every other
// path with the dApp's index.html, so any page's URL works as a deep link and on reload.
export const paths = {
  home: "/",
  post: "/app/post",
  jobs: "/app/jobs",
  job: (id: number | bigint | string) => `/app/jobs/${id}`,
  providers: "/app/providers",
  provider: (address: string) => `/app/providers/${address.toLowerCase()}`,
} as const;

/** A job id in a URL: digits only. */
export const JOB_ID = /^\d+$/;
/** A provider's address in a URL. */
export const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Where a hash link of the earlier dApp (`/#/jobs/12`) now lives, or null for any other hash. */
export function pathOfLegacyHash(hash: string): string | null {
  if (!hash.startsWith("#/")) return null;
  const path = hash.slice(1);
  return path === "/" || path.startsWith("/?") ? path : `/app${path}`;
}
