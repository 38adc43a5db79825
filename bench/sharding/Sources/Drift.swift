import AugurCore
import Foundation

/// A workload whose groups of keys used together change halfway: `keys` accounts in
/// groups of `groupSize`; each transaction uses two or three accounts of one group (one in
/// twenty uses two accounts anywhere); after the first half the accounts are dealt into new
/// groups. Transactions end one second apart.
func driftingTransactions(count: Int, keys: Int, groupSize: Int, seed: UInt64) -> [SampledTransaction] {
    var random = SplitMix64(state: seed)
    var dealt = Array(0..<keys)
    for index in stride(from: keys - 1, to: 0, by: -1) { dealt.swapAt(index, random.below(index + 1)) }
    let groups = keys / groupSize
    return (0..<count).map { index in
        let member: (Int, Int) -> Int = index < count / 2 ? { group, slot in group * groupSize + slot }
                                                          : { group, slot in dealt[group * groupSize + slot] }
        var used: Set<String> = []
        if random.unit() < 0.05 {
            used = [String(random.below(keys)), String(random.below(keys))]
        } else {
            let group = random.below(groups)
            while used.count < 2 + (random.unit() < 0.5 ? 1 : 0) { used.insert(String(member(group, random.below(groupSize)))) }
        }
        return SampledTransaction(tables: ["account"], keys: ["account": ["id": used]], endedAt: Double(index))
    }
}

/// Plans learned from the first 70 % of a drifting workload, scored on the rest (all after
/// the change), medians of 11 seeds: keys hashed, placed by raw frequency, by decayed
/// frequency, and by decayed frequency with predicted co-access.
func driftTable() throws {
    let table = ShardingPlanner.Table(name: "account", rows: 1e6, writeShare: 0.5, columns: ["id"])
    for transactions in [2_000, 4_000] {
        print("\ndrifting workload: \(transactions) sampled transactions, 512 keys in groups of 16, regrouped halfway; "
              + "learned from the first 70 %, scored on the last 30 %; 4 nodes; half-life a tenth of the run")
        print("plan                              distributed (held out)  busiest/mean")
        for (name, halfLife, prediction) in [("keys hashed", Double.infinity, nil), ("raw frequency", .infinity, 0),
                                             ("decayed frequency", 0.1, 0), ("decayed and predicted", 0.1, 1)] as [(String, Double, Double?)] {
            var shares: [Double] = [], balances: [Double] = []
            for seed in 1...11 {
                let all = driftingTransactions(count: transactions, keys: 512, groupSize: 16, seed: UInt64(seed))
                let learned = all.count * 7 / 10
                var options = ShardingPlanner.Options()
                options.halfLife = halfLife * Double(transactions)
                options.keys.predictionWeight = prediction ?? 0
                let outcome = try ShardingPlanner.plan(tables: [table], training: Array(all[..<learned]), nodes: 4, options: options)
                let plan = prediction == nil ? ShardingPlan(nodes: 4, choices: outcome.plan.choices) : outcome.plan
                let score = plan.score(Array(all[learned...]))
                shares.append(score.distributedShare)
                balances.append(score.accessBalance)
            }
            print(name.padding(toLength: 32, withPad: " ", startingAt: 0)
                  + String(format: "  %21.1f%%  %12.2f", 100 * median(shares), median(balances)))
        }
    }
}
