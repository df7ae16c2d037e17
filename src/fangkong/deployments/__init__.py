"""Deployments (警力部署): posts and their rosters, the daily deployment log, offence cases (涉疫案件)
and supervision (督导)."""
