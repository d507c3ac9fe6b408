"""The campaign engine's database side: selection, storage, lifecycle, flow, coupons and jobs.

rules.campaigns / rules.constraints / rules.flow / rules.coupons decide; these modules read
what the rules need, write what they decided, and own the transactions (the callers' hooks
write in the caller's transaction and never commit).
"""
