// Every page's URL. The gateway answers a browser's navigation to any of them with the dApp's index.html,
// so each works as a deep link and on reload; on the paths the API shares (`/jobs/12`), the dApp's own
// fetches ask for JSON and get the API's answer (api/pages.py).
export const paths = {
  home: "/",
  post: "/post",
  jobs: "/jobs",
  job: (id: number | bigint | string) => `/jobs/${id}`,
  providers: "/providers",
  provider: (address: string) => `/providers/${address.toLowerCase()}`,
} as const;

/** A job id in a URL: digits only. */
export const JOB_ID = /^\d+$/;
/** A provider's address in a URL. */
export const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Where a hash link of the earlier dApp (`/#/jobs/12`) now lives, or null for any other hash. */
export function pathOfLegacyHash(hash: string): string | null {
  return hash.startsWith("#/") ? hash.slice(1) : null;
}
