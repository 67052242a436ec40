-- Firearms recovered in Mexico and traced, by year of recovery and type: long guns
-- (rifles, shotguns, machine guns), short guns (pistols, revolvers, derringers) and other
-- (GAO-16-223: 49,566 long, 53,156 short, 2,128 neither). Spanish and English type words
-- map to one vocabulary (seed firearm_types).
with

traced as (

    select * from {{ ref('int_mexico_traces') }}

)

select
    recovery_year,
    {{ gao_period('recovery_year') }} as is_gao_period,
    count(*) as n_traced,
    {{ gun_class_counts() }},
    {{ counts_where('firearm_type', [
        ('RIFLE', 'n_rifle'), ('SHOTGUN', 'n_shotgun'), ('MACHINE GUN', 'n_machine_gun'),
        ('PISTOL', 'n_pistol'), ('REVOLVER', 'n_revolver'), ('DERRINGER', 'n_derringer'),
        ('SUBMACHINE GUN', 'n_submachine_gun'), ('RECEIVER/FRAME', 'n_receiver_frame'),
        ('UNKNOWN', 'n_unknown_type'),
    ]) }},
    round(100.0 * count(*) filter (where gun_class = 'long') / count(*), 1) as pct_long,
    round(100.0 * count(*) filter (where gun_class = 'short') / count(*), 1) as pct_short
from traced
group by recovery_year
order by recovery_year
