"""Document inspection: named steps -> immutable report -> policy decision -> durable record.

`workflow.CheckSession` runs `steps.STEPS` for one traveller into a `report.InspectionReport`,
`policy.decide` turns it into OPEN / REFER / ADVISE under a signed `policy.PolicyConfig`, and
the event is appended to the history before `workflow.act_on` may open the gate. See
docs/inspection.md.
"""
