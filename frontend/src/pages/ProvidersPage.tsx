// The provider leaderboard: who completed the most work, earned the most, staked the most.
import { useState } from "react";
import { useNavigate } from "react-router";
import { AddressLink, Amount, Empty, ErrorBox, Loading } from "../components/common";
import { mib } from "../lib/format";
import { paths } from "../lib/paths";
import { rankProviders, successRate, type LeaderboardKey } from "../lib/providers";
import { useProviders } from "../lib/queries";

const SORTS: { key: LeaderboardKey; label: string }[] = [
  { key: "completed", label: "Completed jobs" },
  { key: "earnings", label: "Earnings" },
  { key: "success", label: "Success rate" },
  { key: "stake", label: "Stake" },
];

export function ProvidersPage() {
  const [sort, setSort] = useState<LeaderboardKey>("completed");
  const navigate = useNavigate();
  const { data, error, isPending, refetch } = useProviders();
  return (
    <div className="page">
      <header className="page-head">
        <h1>Providers</h1>
        <div className="segmented" role="group" aria-label="Rank by">
          {SORTS.map((option) => (
            <button
              key={option.key}
              type="button"
              className={option.key === sort ? "active" : undefined}
              aria-pressed={option.key === sort}
              onClick={() => setSort(option.key)}
            >
              {option.label}
            </button>
          ))}
        </div>
      </header>
      {isPending ? (
        <Loading what="Loading providers" />
      ) : error !== null && !data ? (
        <ErrorBox error={error} title="Providers could not be loaded" onRetry={() => void refetch()} />
      ) : !data || data.data.length === 0 ? (
        <Empty title="No providers registered yet">
          Providers join with <code>crowdcompute provider register</code> and <code>provider stake</code>.
        </Empty>
      ) : (
        <table className="table leaderboard">
          <thead>
            <tr>
              <th className="num">#</th>
              <th>Provider</th>
              <th>Hardware</th>
              <th className="num">Completed</th>
              <th className="num">Failed</th>
              <th className="num">Success</th>
              <th className="num">Earnings</th>
              <th className="num">Stake</th>
            </tr>
          </thead>
          <tbody>
            {rankProviders(data.data, sort).map((provider, index) => {
              const rate = successRate(provider);
              return (
                <tr key={provider.address} className="clickable" onClick={() => navigate(paths.provider(provider.address))}>
                  <td className="num rank">{index + 1}</td>
                  <td>
                    <AddressLink address={provider.address} to="provider" />
                  </td>
                  <td className="small">
                    {provider.cpu_cores} CPU · {mib(provider.memory_mib)}
                    {provider.gpu_count > 0 && ` · ${provider.gpu_count}× GPU ${mib(provider.gpu_memory_mib)}`}
                  </td>
                  <td className="num">{provider.completed_jobs}</td>
                  <td className="num">{provider.failed_jobs}</td>
                  <td className="num">{rate === null ? "—" : `${Math.round(rate * 100)}%`}</td>
                  <td className="num">
                    <Amount units={BigInt(provider.earnings) + BigInt(provider.rewards)} />
                  </td>
                  <td className="num">
                    <Amount units={provider.stake} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
