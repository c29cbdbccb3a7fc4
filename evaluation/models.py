# Campaigns, declarations and compiled results come with the campaigns and evaluation issues.
